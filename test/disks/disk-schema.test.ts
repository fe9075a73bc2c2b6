import { expect } from "chai";
import { newId } from "../../hub/db/ids.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

// The disks' invariants live in the database: rows the API would never write are refused by the
// CHECK constraints and unique indexes themselves.

describe("private data disk schema invariants (migrations 20261202100…)", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let base: Record<string, unknown>;
  before(async () => {
    db = await createTestDatabase();
    const k = db.db.knex;
    const tenant = newId();
    const user = newId();
    const agent = newId();
    const pool = newId();
    await k("tenants").insert({ id: tenant, name: "t" });
    await k("users").insert({ id: user, tenant_id: tenant, username: "u", password_hash: "x", role: "user" });
    await k("agents").insert({
      id: agent,
      role: "ceph_gateway",
      hostname: "gw",
      certificate_serial: "1",
      certificate_expires_at: new Date(Date.now() + 86_400_000),
    });
    await k("storage_pools").insert({ id: pool, agent_id: agent, name: "private-data-disks" });
    base = {
      user_id: user,
      tenant_id: tenant,
      name: "d",
      size_gb: 10,
      disk_type: "standard",
      status: "creating",
      rbd_pool: "private-data-disks",
      storage_pool_id: pool,
    };
  });
  after(() => db?.drop());

  async function refused(over: Record<string, unknown>): Promise<string> {
    const id = newId();
    try {
      await db.db.knex("private_data_disks").insert({ id, rbd_image_name: `disk-${id}`, ...base, ...over });
    } catch (err) {
      return (err as { code?: string }).code ?? "?";
    }
    expect.fail(`row accepted: ${JSON.stringify(over)}`);
  }

  it("refuses unknown types, states and share modes, bad sizes and attachment counts, and foreign image names", async () => {
    expect(await refused({ disk_type: "tape" })).to.equal("23514");
    expect(await refused({ status: "deleted" })).to.equal("23514");
    expect(await refused({ share_mode: "public" })).to.equal("23514");
    expect(await refused({ size_gb: 0 })).to.equal("23514");
    expect(await refused({ provisioned_size_gb: 11 })).to.equal("23514");
    expect(await refused({ share_mode: "exclusive", max_attachments: 2 })).to.equal("23514");
    expect(await refused({ share_mode: "shared", max_attachments: 0 })).to.equal("23514");
    expect(await refused({ rbd_image_name: "disk-someone-else" })).to.equal("23514");
    expect(await refused({ name: "" })).to.equal("23514");
  });

  it("one live disk per owner and name; a soft-deleted one frees the name", async () => {
    const id = newId();
    await db.db.knex("private_data_disks").insert({ id, rbd_image_name: `disk-${id}`, ...base, name: "dup" });
    expect(await refused({ name: "DUP" })).to.equal("23505");
    await db.db.knex("private_data_disks").where({ id }).update({ deleted_at: new Date() });
    const again = newId();
    await db.db.knex("private_data_disks").insert({ id: again, rbd_image_name: `disk-${again}`, ...base, name: "dup" });
  });

  it("storage pools never go below zero free bytes, and the disk type mapping starts with the spec's pools", async () => {
    let code = "";
    await db.db
      .knex("storage_pools")
      .update({ available_bytes: -1 })
      .catch((err: { code: string }) => (code = err.code));
    expect(code).to.equal("23514");
    const mapping = await db.db.knex("disk_type_pools").orderBy("disk_type").select("disk_type", "pool_name");
    expect(mapping).to.deep.equal([
      { disk_type: "nvme", pool_name: "private-data-disks-nvme" },
      { disk_type: "ssd", pool_name: "private-data-disks-ssd" },
      { disk_type: "standard", pool_name: "private-data-disks" },
    ]);
  });
});
