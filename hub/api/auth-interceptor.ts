import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { PolicyRegistry } from "./method-policy.js";
import type { Principal } from "./principal.js";
import { bearerTokenKey, principalKey } from "./request-context.js";

export interface AuthInterceptorDeps {
  /** The principal of a live bearer token; undefined for an invalid, expired or revoked one. */
  resolveToken: (token: string) => Promise<Principal | undefined>;
  policies: PolicyRegistry;
}

function bearerToken(header: Headers): string | undefined {
  const value = header.get("authorization");
  if (!value) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return m?.[1];
}

/** Authenticates the bearer token and applies the method's coarse rule; handlers do tenant scoping. */
export function authInterceptor(deps: AuthInterceptorDeps): Interceptor {
  return (next) => async (req) => {
    const rule = deps.policies.ruleFor(req.method);
    if (!rule) {
      // Fail closed: a method someone forgot to give a policy is callable by nobody.
      throw new ConnectError(`Method ${req.method.name} has no access policy`, Code.PermissionDenied);
    }
    if (rule.kind === "public") return next(req);
    const token = bearerToken(req.header);
    if (!token)
      throw new ConnectError(
        "Unauthenticated: send an Authorization: Bearer <token> header (AuthService/Login issues one)",
        Code.Unauthenticated,
      );
    const principal = await deps.resolveToken(token);
    if (!principal)
      throw new ConnectError("Unauthenticated: the bearer token is invalid, expired or revoked", Code.Unauthenticated);
    if (rule.kind === "roles" && !rule.roles.includes(principal.role)) {
      throw new ConnectError(
        `Permission denied: ${req.method.name} needs role ${rule.roles.join(" or ")}`,
        Code.PermissionDenied,
      );
    }
    req.contextValues.set(principalKey, principal);
    req.contextValues.set(bearerTokenKey, token);
    return next(req);
  };
}
