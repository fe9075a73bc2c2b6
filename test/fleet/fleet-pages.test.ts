import { expect } from "chai";
import { FleetService } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { AgentStatus } from "../../gen/edgehub/admin/v1/fleet_pb.js";
import { newId } from "../../hub/db/ids.js";
import { walkPages } from "../support/api-conventions.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { createSite, type Site } from "./support/fleet-fixtures.js";

const ROWS = 2500;
const CHUNK = 500;

/** Every List of FleetService walks 2 500 rows seeded in bulk and sees each once. */
describe("FleetService lists walk 2 500 rows", function () {
  this.timeout(60_000);
  let t: TestHub;
  let site: Site;

  before(async () => {
    t = await startTestHub();
    site = await createSite(t, "pages");
  });
  after(async () => t?.stop());

  const fleet = async () => t.client(FleetService, await t.adminToken());
  const insert = async (table: string, rows: Record<string, unknown>[]) => {
    for (let i = 0; i < rows.length; i += CHUNK) await t.hub.db.knex(table).insert(rows.slice(i, i + CHUNK));
  };

  async function seedAgents(role: string, status: string): Promise<string[]> {
    const now = new Date();
    const ids = Array.from({ length: ROWS }, () => newId());
    await insert(
      "agents",
      ids.map((id, i) => ({
        id,
        role,
        hostname: `${role}-${i}`,
        edge_data_center_id: site.edgeDataCenterId,
        certificate_serial: `${i + 1}`,
        certificate_expires_at: new Date(now.getTime() + 86_400_000),
        status,
        enrolled_at: now,
      })),
    );
    return ids;
  }

  it("ListAgents", async () => {
    const ids = await seedAgents("ceph_gateway", "offline");
    const client = await fleet();
    const seen = await walkPages(async (pageSize, pageToken) => {
      const res = await client.listAgents({
        role: AgentRole.CEPH_GATEWAY,
        status: AgentStatus.OFFLINE,
        pageSize,
        pageToken,
      });
      return { items: res.agents, nextPageToken: res.nextPageToken };
    }, 300);
    expect(seen).to.deep.equal([...ids].sort());
  });

  it("ListCommands, newest first, with page_size clamped to 1 000", async () => {
    const [agentId] = await t.hub.db.knex("agents").where({ role: "ceph_gateway" }).limit(1).pluck("id");
    const base = Date.now();
    // Ten commands share each creation millisecond: ties are broken by id.
    const rows = Array.from({ length: ROWS }, (_, i) => ({
      id: newId(),
      agent_id: agentId,
      kind: "echo",
      payload: JSON.stringify({ echo: { message: `${i}` } }),
      state: i % 3 === 0 ? "succeeded" : "queued",
      deadline: new Date(base + 3_600_000),
      created_at: new Date(base + Math.floor(i / 10)),
    }));
    await insert("agent_commands", rows);
    const client = await fleet();
    const seen = await walkPages(async (pageSize, pageToken) => {
      const res = await client.listCommands({ agentId, pageSize, pageToken });
      return { items: res.commands, nextPageToken: res.nextPageToken };
    }, 700);
    const newestFirst = [...rows]
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => r.id);
    expect(seen).to.deep.equal(newestFirst);
    const big = await client.listCommands({ agentId, pageSize: 5000 });
    expect(big.commands.length).to.equal(1000);
    const { commands } = await client.listCommands({ agentId, pageSize: 1000 });
    expect(commands[0]!.payload?.kind).to.deep.include({ case: "echo" });
  });

  it("ListJoinTokens", async () => {
    const now = new Date();
    const ids = Array.from({ length: ROWS }, () => newId());
    await insert(
      "join_tokens",
      ids.map((id) => ({
        id,
        secret_hash: `hash-${id}`,
        role: "cloud_box",
        edge_data_center_id: site.edgeDataCenterId,
        max_uses: 1,
        expires_at: new Date(now.getTime() + 3_600_000),
        created_at: now,
      })),
    );
    const client = await fleet();
    const seen = await walkPages(async (pageSize, pageToken) => {
      const res = await client.listJoinTokens({ pageSize, pageToken });
      return { items: res.joinTokens, nextPageToken: res.nextPageToken };
    }, 400);
    expect(seen).to.deep.equal([...ids].sort());
  });
});
