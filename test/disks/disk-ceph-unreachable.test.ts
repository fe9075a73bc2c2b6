import net from "node:net";
import { expect } from "chai";
import type { Client } from "@connectrpc/connect";
import { DiskService, DiskStatus, DiskType } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { AgentRole } from "../../gen/edgehub/common/v1/agent_role_pb.js";
import { newId } from "../../hub/db/ids.js";
import { disposeAgents, spawnAgent, waitFor, type AgentProcess } from "../fleet/support/agent-process.js";
import { createSite, mintToken, type Site } from "../fleet/support/fleet-fixtures.js";
import { CEPH_POOLS, rbdLibraryMissing } from "../support/ceph-backends.js";
import { skipIfHeavySuitesRunElsewhere, skipUnlessBackend } from "../support/real-backends.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD } from "../catalog/catalog-fixtures.js";

// Ceph unreachable behind a connected gateway (issue 13): a real ceph_gateway agent whose monitor
// address answers nothing. Its pools are as a listing left them before the cluster went away; a disk
// created through the admin API fails at the gateway's Ceph timeout with "unavailable" — the
// command failed, not expired at its deadline — and nothing is half-done: the disk is in error with
// the reason, no command stays pending, and deleting it returns the quota.

/** A loopback port with nothing listening (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("a disk on a gateway whose Ceph is unreachable fails with 'unavailable' and leaves nothing half-done", function () {
  this.timeout(180_000);
  let t: TestHub;
  let site: Site;
  let agent: AgentProcess | undefined;
  let disks: Client<typeof DiskService>;
  let agentId = "";
  let aliceId = "";

  before(async function () {
    skipIfHeavySuitesRunElsewhere(this, "Ceph unreachable behind a gateway");
    const missing = rbdLibraryMissing();
    skipUnlessBackend(this, missing === undefined, missing ?? "");
    t = await startTestHub();
    site = await createSite(t, "lost");
    agent = spawnAgent({
      hub: `127.0.0.1:${t.hub.grpcPort}`,
      joinToken: await mintToken(t, site, { role: AgentRole.CEPH_GATEWAY }),
      role: "ceph_gateway",
      hostname: "ceph-gw-lost",
      extraArgs: ["--ceph-mon-host", `v2:127.0.0.1:${await closedPort()}`, "--ceph-timeout", "2"],
    });
    const knex = t.hub.db.knex;
    agentId = await waitFor(
      "the gateway connected",
      async () =>
        ((await knex("agents").where({ role: "ceph_gateway", status: "connected" }).first("id")) as { id: string })?.id,
      120_000,
    );
    // Its first pool listing (asked at its Hello) fails: the cluster never answers.
    await waitFor(
      "the gateway's pool listing to fail",
      async () =>
        knex("agent_commands").where({ agent_id: agentId, kind: "list_rbd_pools", state: "failed" }).first("id"),
      60_000,
    );
    // The pool as a listing made before the cluster went away left it.
    const now = new Date();
    await knex("storage_pools").insert({
      id: newId(),
      agent_id: agentId,
      edge_data_center_id: site.edgeDataCenterId,
      name: CEPH_POOLS.standard,
      capacity_bytes: 0,
      used_bytes: 0,
      available_bytes: 0,
      object_count: 0,
      status: "active",
      refreshed_at: now,
      created_at: now,
      updated_at: now,
    });
    const people = new CatalogPeople(knex);
    aliceId = (await people.user("alice", "user", await people.tenant("tenant-a"))).userId;
    disks = t.client(DiskService, await t.login("alice", PASSWORD, "tenant-a"));
  });

  after(async () => {
    if (agent) await disposeAgents([agent]);
    await t?.stop();
  });

  it("create → error with the gateway's 'unavailable' reason; no command left pending; delete returns the quota", async () => {
    const knex = t.hub.db.knex;
    const { disk } = await disks.createDisk({ disk: { name: "data", sizeGb: 2, diskType: DiskType.STANDARD } });
    expect(disk!.status).to.equal(DiskStatus.CREATING);
    const failed = await waitFor(
      "the disk in error",
      async () => {
        const d = (await disks.getDisk({ id: disk!.id })).disk!;
        return d.status === DiskStatus.ERROR ? d : undefined;
      },
      120_000,
    );
    expect(failed.lastError).to.match(/unavailable/i);
    const create = (await knex("agent_commands")
      .where({ agent_id: agentId, kind: "create_rbd_image" })
      .select("state", "error")) as { state: string; error: string }[];
    expect(create.map((c) => c.state)).to.deep.equal(["failed"]); // at the Ceph timeout, not its deadline
    expect(create[0]!.error).to.match(/unavailable/i);
    const pending = await knex("agent_commands")
      .where({ agent_id: agentId })
      .whereIn("state", ["queued", "delivered", "running"])
      .whereNot({ kind: "list_rbd_pools" })
      .select("kind");
    expect(pending).to.deep.equal([]);
    // The failed disk still holds its quota (it exists, in error) until it is deleted.
    const charged = async () =>
      Number(
        (
          (await knex("quota_consumers")
            .where({ consumer_type: "private_data_disk", consumer_id: disk!.id, user_id: aliceId })
            .sum("occ_private_data_disk_gb as gb")) as { gb: string | null }[]
        )[0]!.gb ?? 0,
      );
    expect(await charged()).to.equal(2);
    await disks.deleteDisk({ id: disk!.id });
    expect(await charged()).to.equal(0);
  });
});
