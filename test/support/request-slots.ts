import { ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { createConnectRouter } from "@connectrpc/connect";
import { PolicyRegistry } from "../../hub/api/method-policy.js";
import { registerServices } from "../../hub/services.js";
import type { ServiceDeps } from "../../hub/service-deps.js";

// Request fields generated from the admin API's descriptors, so probes cover new methods unasked.

/** One string field reachable in a request: its proto path and how to build a request holding `value` there. */
export interface StringSlot {
  path: string;
  field: DescField;
  init: (value: string) => Record<string, unknown>;
}

/** Every string field of `schema`, nested messages included (well-known types and cycles skipped). */
export function stringSlots(schema: DescMessage, seen: readonly string[] = []): StringSlot[] {
  const slots: StringSlot[] = [];
  for (const field of schema.fields) {
    // A oneof member is set as { case, value } under the oneof's name.
    const wrap = (value: unknown): Record<string, unknown> =>
      field.oneof ? { [field.oneof.localName]: { case: field.localName, value } } : { [field.localName]: value };
    if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) {
      slots.push({ path: field.name, field, init: (v) => wrap(v) });
    } else if (field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === ScalarType.STRING) {
      slots.push({ path: field.name, field, init: (v) => wrap(["ok", v]) });
    } else if (field.fieldKind === "map" && field.mapKind === "scalar" && field.scalar === ScalarType.STRING) {
      slots.push({ path: field.name, field, init: (v) => wrap({ ok: v }) });
    } else if (
      (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) &&
      field.message
    ) {
      const child = field.message;
      if (child.typeName.startsWith("google.protobuf.") || seen.includes(child.typeName)) continue;
      for (const inner of stringSlots(child, [...seen, schema.typeName])) {
        const asList = field.fieldKind === "list";
        slots.push({
          path: `${field.name}.${inner.path}`,
          field: inner.field,
          init: (v) => wrap(asList ? [inner.init(v)] : inner.init(v)),
        });
      }
    }
  }
  return slots;
}

export function adminMethods(): DescMethod[] {
  const router = createConnectRouter();
  registerServices(router, new PolicyRegistry(), {} as ServiceDeps);
  return router.handlers.map((h) => h.method);
}
