import { expect } from "chai";
import { create, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { maxEntriesOf, maxLengthOf } from "../../hub/api/size-limits.js";
import { connectErrorOf, violatedFields } from "../support/api-conventions.js";
import { adminMethods, stringSlots } from "../support/request-slots.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

/** Every top-level repeated or map field of a request: how to fill it with `n` entries. */
function collectionSlots(schema: DescMessage): { field: DescField; init: (n: number) => Record<string, unknown> }[] {
  const out: { field: DescField; init: (n: number) => Record<string, unknown> }[] = [];
  for (const field of schema.fields) {
    if (field.oneof) continue;
    if (field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === ScalarType.STRING)
      out.push({ field, init: (n) => ({ [field.localName]: Array.from({ length: n }, (_, i) => `e${i}`) }) });
    else if (field.fieldKind === "map" && field.mapKind === "scalar" && field.scalar === ScalarType.STRING)
      out.push({
        field,
        init: (n) => ({ [field.localName]: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"])) }),
      });
  }
  return out;
}

describe("size limits at the edge, one per field kind (security #7)", function () {
  this.timeout(300_000);
  let t: TestHub;
  let token: string;
  const methods = adminMethods();
  before(async () => {
    t = await startTestHub();
    token = await t.adminToken();
  });
  after(async () => t?.stop());

  const call = (method: (typeof methods)[number], init: Record<string, unknown>) => {
    const client = t.client(method.parent, token) as unknown as Record<string, (m: unknown) => Promise<unknown>>;
    return connectErrorOf(client[method.localName]!(create(method.input, init as never)));
  };

  it("refuses a string one character over its kind's limit in every field of every method, naming the field and echoing at most 64 characters", async () => {
    const failures: string[] = [];
    for (const method of methods) {
      for (const slot of stringSlots(method.input)) {
        const max = maxLengthOf(slot.field);
        const err = await call(method, slot.init("x".repeat(max + 1)));
        const where = `${method.parent.name}.${method.name} ${slot.path}`;
        if (err.code !== Code.InvalidArgument || !violatedFields(err).includes(slot.path))
          failures.push(`${where}: ${Code[err.code]} ${err.rawMessage.slice(0, 120)}`);
        else if (/x{65}/.test(err.rawMessage)) failures.push(`${where}: the message echoes the input`);
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it("refuses a list or map one entry over its limit in every method", async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const method of methods) {
      for (const slot of collectionSlots(method.input)) {
        checked++;
        const err = await call(method, slot.init(maxEntriesOf(slot.field) + 1));
        if (err.code !== Code.InvalidArgument || !violatedFields(err).includes(slot.field.name))
          failures.push(`${method.parent.name}.${method.name} ${slot.field.name}: ${Code[err.code]} ${err.rawMessage}`);
      }
    }
    expect(checked).to.be.greaterThan(0);
    expect(failures).to.deep.equal([]);
  });

  it("the cases of the probe: a 1 MB description, a 1 MB base_os, 20 000 template tags, a 1 MB name, an unbounded Login tenant", async () => {
    const { ImageService, ImageType } = await import("../../gen/edgehub/admin/v1/image_pb.js");
    const { TemplateService } = await import("../../gen/edgehub/admin/v1/template_pb.js");
    const { AuthService } = await import("../../gen/edgehub/admin/v1/auth_pb.js");
    const images = t.client(ImageService, token);
    const mb = "y".repeat(1024 * 1024);
    const before = await t.hub.db.knex("images").count<{ n: string }[]>({ n: "*" });
    for (const [field, image] of [
      ["image.description", { name: "probe", imageType: ImageType.OS_BASE, description: mb }],
      ["image.base_os", { name: "probe", imageType: ImageType.OS_BASE, baseOs: mb }],
      ["image.name", { name: mb, imageType: ImageType.OS_BASE }],
    ] as const) {
      const err = await connectErrorOf(images.createImage({ image }));
      expect([err.code, violatedFields(err)], field).to.deep.equal([Code.InvalidArgument, [field]]);
      expect(err.rawMessage.length, "the message does not echo the input").to.be.lessThan(200);
    }
    expect(await t.hub.db.knex("images").count<{ n: string }[]>({ n: "*" })).to.deep.equal(before);
    const tags = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`t${i}`, "v"]));
    const tagErr = await connectErrorOf(
      t.client(TemplateService, token).createTemplate({ template: { config: { name: "probe", tags } } }),
    );
    expect([tagErr.code, violatedFields(tagErr)]).to.deep.equal([Code.InvalidArgument, ["template.config.tags"]]);
    const login = await connectErrorOf(
      t.client(AuthService).login({ username: "admin", password: "whatever-password", tenant: "z".repeat(10_000) }),
    );
    expect([login.code, violatedFields(login)]).to.deep.equal([Code.InvalidArgument, ["tenant"]]);
  });
});
