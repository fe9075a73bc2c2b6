import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { Role } from "./principal.js";

/**
 * Who may call a method, declared next to each handler. Tenant scoping (a tenant_admin only
 * inside its tenant, a user only its own resources) is checked by the handler against the
 * resource; this rule is the coarse gate the interceptor applies before the handler runs.
 */
export type MethodRule =
  | { readonly kind: "public" }
  | { readonly kind: "authenticated" }
  | { readonly kind: "roles"; readonly roles: readonly Role[] };

export const PUBLIC: MethodRule = Object.freeze({ kind: "public" });
export const AUTHENTICATED: MethodRule = Object.freeze({ kind: "authenticated" });
export function rolesAllowed(...roles: Role[]): MethodRule {
  return Object.freeze({ kind: "roles", roles: Object.freeze(roles) });
}

/** A rule for every method of a service: the compiler refuses a service with a method left out. */
export type ServicePolicy<S extends DescService> = { readonly [K in keyof S["method"]]: MethodRule };

/** All policies by method type name (`edgehub.admin.v1.AuthService.Login`). Methods without one are refused. */
export class PolicyRegistry {
  private readonly rules = new Map<string, MethodRule>();

  add<S extends DescService>(service: S, policy: ServicePolicy<S>): void {
    for (const method of service.methods) {
      const rule = (policy as Record<string, MethodRule | undefined>)[method.localName];
      if (!rule) throw new Error(`No policy for ${service.typeName}.${method.name}`);
      this.rules.set(`${service.typeName}.${method.name}`, rule);
    }
  }

  ruleFor(method: DescMethod): MethodRule | undefined {
    return this.rules.get(`${method.parent.typeName}.${method.name}`);
  }
}
