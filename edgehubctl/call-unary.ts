import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";
import type { HubSession } from "./hub-session.js";

/**
 * Calls `method` through the generated Connect client of the service that declares it (a kind's
 * methods may come from two services, e.g. CreateEdgeDataCenter from FleetService and
 * GetEdgeDataCenter from InfrastructureService); `service` names the kind's, for messages.
 */
export async function callUnary(
  session: HubSession,
  service: DescService,
  method: DescMethod,
  request: Message,
): Promise<Message> {
  const client = session.client(method.parent) as unknown as Record<string, (req: Message) => Promise<Message>>;
  const fn = client[method.localName];
  if (!fn) throw new Error(`${method.parent.typeName} has no method ${method.name} (kind of ${service.typeName})`);
  return fn(request);
}
