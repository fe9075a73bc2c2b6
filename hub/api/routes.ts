import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { AuthService } from "../../gen/edgehub/admin/v1/auth_pb.js";
import { FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { authServicePolicy, createAuthService } from "../auth/auth-service.js";
import { createFleetService, fleetServicePolicy } from "../fleet/fleet-service.js";
import type { ApiDeps } from "./api-deps.js";
import type { PolicyRegistry, ServicePolicy } from "./method-policy.js";

/** The one place every admin API service is registered, each with its access policy. */
export function registerRoutes(router: ConnectRouter, policies: PolicyRegistry, deps: ApiDeps): void {
  function serve<S extends DescService>(service: S, impl: ServiceImpl<S>, policy: ServicePolicy<S>): void {
    policies.add(service, policy);
    router.service(service, impl);
  }
  serve(AuthService, createAuthService(deps), authServicePolicy);
  serve(FleetService, createFleetService({ knex: deps.knex, admin: deps.fleetAdmin, caFingerprint: deps.hubCaFingerprint }), fleetServicePolicy);
}
