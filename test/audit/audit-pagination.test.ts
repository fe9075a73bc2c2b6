import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { AuditService, type ListAuditLogRequestSchema } from "../../gen/edgehub/admin/v1/audit_pb.js";
import { newId } from "../../hub/db/ids.js";
import { encodePageToken } from "../../hub/api/page-token.js";
import { connectErrorOf, violatedFields, walkPages } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";

describe("ListAuditLog pages and inputs", function () {
  this.timeout(60_000);
  let t: TestHub;
  let token: string;
  const seeded: string[] = [];
  const tenantId = newId();
  before(async () => {
    t = await startTestHub();
    token = await t.adminToken();
    await t.hub.db.knex("tenants").insert({ id: tenantId, name: `aud-page-${tenantId}` });
    // 2 500 entries over only 25 distinct instants (many share `at`), so the keyset's id tie-break is exercised.
    const base = Date.UTC(2026, 0, 1);
    const rows = Array.from({ length: 2500 }, (_, i) => {
      const id = newId();
      seeded.push(id);
      return {
        id,
        at: new Date(base + (i % 25) * 1000),
        actor_username: "seed",
        tenant_id: tenantId,
        action: "seed.bulk",
        target_type: "seed",
        target_id: String(i),
        after: JSON.stringify({ i }),
        request_id: "",
      };
    });
    for (let i = 0; i < rows.length; i += 500) await t.hub.db.knex("audit_log").insert(rows.slice(i, i + 500));
  });
  after(async () => t?.stop());

  const list = (req: MessageInitShape<typeof ListAuditLogRequestSchema>) =>
    t.client(AuditService, token).listAuditLog(req);

  for (const pageSize of [7, 250, 1000]) {
    it(`walks 2 500 entries in pages of ${pageSize}, each exactly once, newest first`, async () => {
      const ids = await walkPages(async (size, pageToken) => {
        const page = await list({ action: "seed.bulk", pageSize: size, pageToken });
        return { items: page.entries, nextPageToken: page.nextPageToken };
      }, pageSize);
      expect(ids.length).to.equal(2500);
      expect([...ids].sort()).to.deep.equal([...seeded].sort());
      const inOrder = await t.hub.db
        .knex("audit_log")
        .where("action", "seed.bulk")
        .orderBy([
          { column: "at", order: "desc" },
          { column: "id", order: "desc" },
        ])
        .pluck("id");
      expect(ids).to.deep.equal(inOrder);
    });
  }

  it("page_size 0 means 50; above 1 000 is clamped to 1 000", async () => {
    expect((await list({ action: "seed.bulk" })).entries.length).to.equal(50);
    expect((await list({ action: "seed.bulk", pageSize: 5000 })).entries.length).to.equal(1000);
  });

  it("names the bad field: page token, page size, ids, action and target type formats", async () => {
    const fieldsOf = async (p: Promise<unknown>) => {
      const err = await connectErrorOf(p);
      expect(err.code).to.equal(Code.InvalidArgument);
      return violatedFields(err);
    };
    expect(await fieldsOf(list({ pageToken: "bm9wZQ" }))).to.deep.equal(["page_token"]);
    // A token of the right shape whose values are not a time and an id never reaches SQL.
    expect(await fieldsOf(list({ pageToken: encodePageToken(["yesterday", "x"]) }))).to.deep.equal(["page_token"]);
    expect(await fieldsOf(list({ pageSize: -1 }))).to.deep.equal(["page_size"]);
    expect(await fieldsOf(list({ tenantId: "acme" }))).to.deep.equal(["tenant_id"]);
    expect(await fieldsOf(list({ actorUserId: "1234" }))).to.deep.equal(["actor_user_id"]);
    expect(await fieldsOf(list({ action: "Tenant Create" }))).to.deep.equal(["action"]);
    expect(await fieldsOf(list({ action: "tenant" }))).to.deep.equal(["action"]);
    expect(await fieldsOf(list({ targetType: "user-group" }))).to.deep.equal(["target_type"]);
  });

  it("a well-formed tenant id that names no tenant is not_found; a deleted tenant's entries stay readable", async () => {
    expect((await connectErrorOf(list({ tenantId: newId() }))).code).to.equal(Code.NotFound);
    await t.hub.db.knex("tenants").where("id", tenantId).update({ deleted_at: new Date() });
    expect((await list({ tenantId, pageSize: 10 })).entries.length).to.equal(10);
  });
});
