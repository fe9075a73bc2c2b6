import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";
import type { HubSession } from "./hub-session.js";

/** Calls `method` through the generated Connect client of `service` (the descriptor picks the method). */
export async function callUnary(
  session: HubSession,
  service: DescService,
  method: DescMethod,
  request: Message,
): Promise<Message> {
  const client = session.client(service) as unknown as Record<string, (req: Message) => Promise<Message>>;
  const fn = client[method.localName];
  if (!fn) throw new Error(`${service.typeName} has no method ${method.name}`);
  return fn(request);
}
