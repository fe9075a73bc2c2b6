import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "./principal.js";
import { UnauthenticatedError } from "../domain/errors.js";

/** Set by the auth interceptor for every authenticated call. */
export const principalKey = createContextKey<Principal | undefined>(undefined, {
  description: "authenticated principal",
});
/** The bearer token of the call, so Logout can revoke it. */
export const bearerTokenKey = createContextKey<string | undefined>(undefined, { description: "bearer token" });
/** Correlates logs, audit rows and responses; from `x-request-id` or generated. */
export const requestIdKey = createContextKey<string>("", { description: "request id" });

/** The TCP peer's address (no proxy headers are trusted: the admin port is reached directly). */
export const remoteAddressKey = createContextKey<string>("", { description: "remote address" });

export function remoteAddressOf(ctx: HandlerContext): string {
  return ctx.values.get(remoteAddressKey);
}

export function principalOf(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(principalKey);
  if (!principal) throw new UnauthenticatedError("Unauthenticated: this method needs a bearer token");
  return principal;
}

export function requestIdOf(ctx: HandlerContext): string {
  return ctx.values.get(requestIdKey);
}
