import { expect } from "chai";
import { create, ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { Code, createConnectRouter } from "@connectrpc/connect";
import { PolicyRegistry } from "../../hub/api/method-policy.js";
import { textKindOf } from "../../hub/api/text-rules.js";
import { registerServices } from "../../hub/services.js";
import type { ServiceDeps } from "../../hub/service-deps.js";
import { connectErrorOf, violatedFields } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

/** One string field reachable in a request: its proto path and how to build a request holding `value` there. */
interface StringSlot {
  path: string;
  field: DescField;
  init: (value: string) => Record<string, unknown>;
}

/** Every string field of `schema`, nested messages included (well-known types and cycles skipped). */
function stringSlots(schema: DescMessage, seen: readonly string[] = []): StringSlot[] {
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

function adminMethods(): DescMethod[] {
  const router = createConnectRouter();
  registerServices(router, new PolicyRegistry(), {} as ServiceDeps);
  return router.handlers.map((h) => h.method);
}

describe("text rule at the edge: NUL, control and bidi characters (security #2)", function () {
  this.timeout(120_000);
  let t: TestHub;
  let token: string;
  const methods = adminMethods();
  before(async () => {
    t = await startTestHub();
    token = await t.adminToken();
  });
  after(async () => t?.stop());

  it("covers every method's string fields (generated from the descriptors)", () => {
    const slots = methods.flatMap((m) => stringSlots(m.input));
    expect(slots.length).to.be.at.least(100);
  });

  it("refuses NUL and control characters in every string field of every method, naming the field", async () => {
    const failures: string[] = [];
    for (const method of methods) {
      for (const slot of stringSlots(method.input)) {
        const bad = slot.field.name === "password" ? "password\u0000with-nul" : "a\u0000b";
        const message = create(method.input, slot.init(bad) as never);
        const client = t.client(method.parent, token) as unknown as Record<string, (m: unknown) => Promise<unknown>>;
        const err = await connectErrorOf(client[method.localName]!(message));
        if (err.code !== Code.InvalidArgument || !violatedFields(err).includes(slot.path)) {
          failures.push(
            `${method.parent.name}.${method.name} ${slot.path}: ${Code[err.code]} ${violatedFields(err).join(",")} ${err.rawMessage}`,
          );
        }
        const control = create(method.input, slot.init("a\u001bb") as never);
        const errControl = await connectErrorOf(client[method.localName]!(control));
        if (errControl.code !== Code.InvalidArgument || !violatedFields(errControl).includes(slot.path)) {
          failures.push(
            `${method.parent.name}.${method.name} ${slot.path} (ESC): ${Code[errControl.code]} ${errControl.rawMessage}`,
          );
        }
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it("refuses bidi overrides in names, and lets free text keep line breaks", async () => {
    const failures: string[] = [];
    for (const method of methods) {
      for (const slot of stringSlots(method.input).filter((s) => textKindOf(s.field) === "name")) {
        const client = t.client(method.parent, token) as unknown as Record<string, (m: unknown) => Promise<unknown>>;
        const err = await connectErrorOf(
          client[method.localName]!(create(method.input, slot.init("admin\u202Egpj.exe") as never)),
        );
        if (err.code !== Code.InvalidArgument || !violatedFields(err).includes(slot.path))
          failures.push(`${method.parent.name}.${method.name} ${slot.path}`);
      }
    }
    expect(failures).to.deep.equal([]);
    // Free text with a line break passes the rule (the call fails later, or not at all, for its own reasons).
    const { AuthService } = await import("../../gen/edgehub/admin/v1/auth_pb.js");
    const err = await connectErrorOf(
      t.client(AuthService).login({ username: "admin", password: "line one\nline two", tenant: "" }),
    );
    expect(violatedFields(err)).to.not.include("password");
  });
});
