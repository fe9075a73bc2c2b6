import type { JsonValue, Message, Registry } from "@bufbuild/protobuf";
import { callUnary } from "./call-unary.js";
import type { HubSession } from "./hub-session.js";
import { requestMessage } from "./request-message.js";
import { resourcesIn } from "./resource-fields.js";
import type { ResourceKind } from "./resource-kinds.js";
import { UsageError } from "./usage-error.js";

/** Reads resources of one kind: Get by id, or every page of List (up to `limit`). */
export interface ResourceReader {
  get(id: string | undefined, filters: Record<string, JsonValue>): Promise<Message>;
  list(filters: Record<string, JsonValue>, limit?: number): Promise<Message[]>;
}

const PAGE_SIZE = 500;

export function resourceReader(session: HubSession, kind: ResourceKind, registry: Registry): ResourceReader {
  return {
    async get(id, filters) {
      const method = kind.get;
      if (!method) throw new UsageError(`${kind.name} has no Get method: use \`edgehubctl get ${kind.name}\``);
      const request = requestMessage(method.input, id === undefined ? filters : { ...filters, id }, registry);
      const response = await callUnary(session, kind.service, method, request);
      const found = resourcesIn(response, method.output, kind.resource)[0];
      if (!found) throw new Error(`${method.name} answered no ${kind.resource.name}`);
      return found;
    },
    async list(filters, limit) {
      const method = kind.list;
      if (!method)
        throw new UsageError(`${kind.name} cannot be listed: give an id (\`edgehubctl get ${kind.name} ID\`)`);
      const items: Message[] = [];
      let pageToken = "";
      for (;;) {
        const pageSize = limit === undefined ? PAGE_SIZE : Math.min(PAGE_SIZE, limit - items.length);
        const request = requestMessage(method.input, { ...filters, pageSize, pageToken }, registry);
        const response = await callUnary(session, kind.service, method, request);
        items.push(...resourcesIn(response, method.output, kind.resource));
        pageToken = String((response as unknown as { nextPageToken?: string }).nextPageToken ?? "");
        if (!pageToken || (limit !== undefined && items.length >= limit)) break;
      }
      return limit === undefined ? items : items.slice(0, limit);
    },
  };
}
