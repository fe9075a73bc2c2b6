import { expect } from "chai";
import { newId } from "../../hub/db/ids.js";
import { canTransition as agentCanTransition, moveAgents, statusesAllowing } from "../../hub/fleet/agent-lifecycle.js";
import { canTransition as commandCanTransition, isFinal, statesAllowing } from "../../hub/fleet/command-lifecycle.js";
import {
  AGENT_BACK,
  AGENT_LOST,
  canTransition as machineCanTransition,
  MACHINE_STATUSES,
  moveMachinesOfAgents,
} from "../../hub/infrastructure/compute-machine-lifecycle.js";
import { AGENT_STATUS, COMMAND_STATE } from "../../hub/fleet/fleet-enums.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

describe("command lifecycle", () => {
  it("final states absorb and queued cannot jump to a result", () => {
    for (const from of COMMAND_STATE.dbValues) {
      if (isFinal(from))
        for (const to of COMMAND_STATE.dbValues)
          expect(commandCanTransition(from, to), `${from}→${to}`).to.equal(false);
    }
    expect(commandCanTransition("queued", "succeeded")).to.equal(false);
    expect(commandCanTransition("queued", "delivered")).to.equal(true);
    expect(commandCanTransition("delivered", "succeeded")).to.equal(true);
    expect(commandCanTransition("running", "delivered")).to.equal(false);
    expect(statesAllowing("cancelled")).to.deep.equal(["queued", "delivered", "running"]);
  });
});

describe("agent lifecycle", () => {
  it("revoked is final and the guards match what the fleet did before the table existed", () => {
    for (const to of AGENT_STATUS.dbValues) expect(agentCanTransition("revoked", to), `revoked→${to}`).to.equal(false);
    expect(agentCanTransition("offline", "disconnected")).to.equal(false);
    expect(agentCanTransition("enrolled", "disconnected")).to.equal(false);
    for (const to of AGENT_STATUS.dbValues)
      expect(agentCanTransition(to, "enrolled"), `${to}→enrolled`).to.equal(false);
    expect(statusesAllowing("disconnected")).to.deep.equal(["connected"]);
    expect(statusesAllowing("offline")).to.deep.equal(["enrolled", "connected", "disconnected"]);
    expect(statusesAllowing("connected")).to.deep.equal(["enrolled", "connected", "disconnected", "offline"]);
    expect(statusesAllowing("revoked")).to.deep.equal(["enrolled", "connected", "disconnected", "offline"]);
  });
});

describe("compute machine lifecycle", () => {
  it("decommissioning is final; the fleet's own moves never touch an operator's maintenance", () => {
    for (const to of MACHINE_STATUSES)
      expect(machineCanTransition("decommissioning", to), `decommissioning→${to}`).to.equal(false);
    expect(AGENT_LOST).to.deep.equal({ from: ["active"], to: "offline" });
    expect(AGENT_BACK).to.deep.equal({ from: ["offline"], to: "active" });
    expect(machineCanTransition("maintenance", "offline")).to.equal(false);
  });
});

describe("guarded status writes", function () {
  this.timeout(60_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => t?.drop());

  async function seed(statuses: string[], machineStatus: string): Promise<string[]> {
    const knex = t.db.knex;
    const dc = newId();
    const pool = newId();
    await knex("edge_data_centers").insert({ id: dc, name: `dc-${dc}` });
    await knex("compute_pools").insert({ id: pool, name: `pool-${pool}` });
    const at = new Date();
    const ids = statuses.map(() => newId());
    await knex("agents").insert(
      ids.map((id, i) => ({
        id,
        role: "compute",
        hostname: `h${i}`,
        edge_data_center_id: dc,
        compute_pool_id: pool,
        certificate_serial: "1",
        certificate_expires_at: new Date(at.getTime() + 86_400_000),
        status: statuses[i],
        enrolled_at: at,
      })),
    );
    await knex("compute_machines").insert(
      ids.map((id, i) => ({
        id: newId(),
        hostname: `h${i}`,
        machine_type: "cpu_server",
        resource_pool_id: pool,
        edge_data_center_id: dc,
        agent_id: id,
        status: machineStatus,
      })),
    );
    return ids;
  }

  const statusOf = async (table: string, column: string, id: string) =>
    (await t.db.knex(table).where(column, id).first("status")).status as string;

  it("refuses illegal agent moves, writing nothing, and applies the legal ones", async () => {
    const [revoked, connected, offline] = await seed(["revoked", "connected", "offline"], "active");
    const moved = await moveAgents(t.db.knex, [revoked!, connected!, offline!], "disconnected", {
      updated_at: new Date(),
    });
    expect(moved).to.deep.equal([connected]);
    expect(await statusOf("agents", "id", revoked!)).to.equal("revoked");
    expect(await statusOf("agents", "id", offline!)).to.equal("offline");
    expect(await moveAgents(t.db.knex, [revoked!], "connected", {})).to.deep.equal([]);
    expect(await statusOf("agents", "id", revoked!)).to.equal("revoked");
  });

  it("moves machines with their agents, but never out of maintenance", async () => {
    const [a] = await seed(["connected"], "active");
    const [m] = await seed(["connected"], "maintenance");
    await moveMachinesOfAgents(t.db.knex, [a!, m!], AGENT_LOST, new Date());
    expect(await statusOf("compute_machines", "agent_id", a!)).to.equal("offline");
    expect(await statusOf("compute_machines", "agent_id", m!)).to.equal("maintenance");
    await moveMachinesOfAgents(t.db.knex, [a!, m!], AGENT_BACK, new Date());
    expect(await statusOf("compute_machines", "agent_id", a!)).to.equal("active");
    expect(await statusOf("compute_machines", "agent_id", m!)).to.equal("maintenance");
  });

  it("knows every status the compute_machines CHECK allows", async () => {
    const [row] = (
      await t.db.knex.raw<{ rows: { def: string }[] }>(
        `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'compute_machines_status_check'`,
      )
    ).rows;
    const allowed = [...row!.def.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]).sort();
    expect(allowed).to.deep.equal([...MACHINE_STATUSES].sort());
  });
});
