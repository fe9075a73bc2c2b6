import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import {
  AuthService,
  PrincipalSchema,
  type Principal as PrincipalMessage,
} from "../../gen/edgehub/admin/v1/auth_pb.js";
import { AUTHENTICATED, PUBLIC, type ServicePolicy } from "../api/method-policy.js";
import { callerOf } from "../api/caller.js";
import { ROLE, type Principal } from "../api/principal.js";
import { bearerTokenKey, principalOf, remoteAddressOf, requestIdOf } from "../api/request-context.js";
import { recordChange } from "../audit/record-change.js";
import { changeOwnPassword } from "./change-password.js";
import { login } from "./login.js";
import { resolveToken, revokeToken } from "./token-store.js";

export const authServicePolicy: ServicePolicy<typeof AuthService> = {
  login: PUBLIC,
  whoAmI: AUTHENTICATED,
  logout: AUTHENTICATED,
  changePassword: AUTHENTICATED,
};

export interface AuthServiceDeps {
  knex: Knex;
  clock: Clock;
  tokenTtlSeconds: number;
}

function principalMessage(p: Principal): PrincipalMessage {
  return create(PrincipalSchema, {
    userId: p.userId,
    username: p.username,
    role: ROLE.fromDb(p.role),
    tenantId: p.tenantId ?? "",
  });
}

export function createAuthService(deps: AuthServiceDeps): ServiceImpl<typeof AuthService> {
  return {
    async login(req, ctx) {
      const result = await login(
        deps,
        { username: req.username, password: req.password, tenant: req.tenant, sourceAddress: remoteAddressOf(ctx) },
        requestIdOf(ctx),
      );
      return {
        token: result.token,
        expireTime: timestampFromDate(result.expiresAt),
        principal: principalMessage(result.principal),
      };
    },
    async whoAmI(_req, ctx) {
      const principal = principalOf(ctx);
      const token = ctx.values.get(bearerTokenKey);
      const resolved = token ? await resolveToken(deps.knex, token, deps.clock.now()) : undefined;
      return {
        principal: principalMessage(principal),
        ...(resolved ? { tokenExpireTime: timestampFromDate(resolved.expiresAt) } : {}),
      };
    },
    async logout(_req, ctx) {
      const caller = callerOf(ctx, deps.clock);
      const token = ctx.values.get(bearerTokenKey);
      if (token) {
        await deps.knex.transaction(async (trx) => {
          await revokeToken(trx, token, caller.at);
          await recordChange(trx, caller, {
            tenantId: caller.principal.tenantId,
            action: "auth.logout",
            targetType: "user",
            targetId: caller.principal.userId,
          });
        });
      }
      return {};
    },
    async changePassword(req, ctx) {
      await changeOwnPassword(deps.knex, callerOf(ctx, deps.clock), {
        currentPassword: req.currentPassword,
        newPassword: req.newPassword,
        token: ctx.values.get(bearerTokenKey) ?? "",
        sourceAddress: remoteAddressOf(ctx),
      });
      return {};
    },
  };
}
