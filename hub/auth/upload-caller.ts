import type { Knex } from "knex";
import type { Clock } from "../../lib/clock/clock.js";
import type { Caller } from "../api/caller.js";
import type { UploadRequest } from "../api/upload-route.js";
import { PermissionDeniedError, UnauthenticatedError } from "../domain/errors.js";
import { resolveToken } from "./token-store.js";

/** The caller of an upload: a valid bearer token (as on the admin API) of one of `roles`. */
export async function uploadCaller(
  deps: { knex: Knex; clock: Clock },
  req: UploadRequest,
  requestId: string,
  roles: ReadonlySet<string>,
  what: string,
): Promise<Caller> {
  const auth = req.headers.authorization;
  const token = typeof auth === "string" ? /^Bearer\s+(\S+)$/i.exec(auth)?.[1] : undefined;
  if (!token)
    throw new UnauthenticatedError("Unauthenticated: this route needs a bearer token (Authorization: Bearer …)");
  const now = deps.clock.now();
  const resolved = await resolveToken(deps.knex, token, now);
  if (!resolved) throw new UnauthenticatedError("Unauthenticated: the bearer token is unknown, expired or revoked");
  if (!roles.has(resolved.principal.role))
    throw new PermissionDeniedError(`Permission denied: role ${resolved.principal.role} may not upload ${what}`);
  return { principal: resolved.principal, requestId, at: now };
}
