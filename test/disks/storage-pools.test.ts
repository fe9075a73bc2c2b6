import { expect } from "chai";
import { Code } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DiskStatus, DiskType, StoragePoolStatus } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { connectErrorOf, errorReasons, violatedFields } from "../support/api-conventions.js";
import { DiskWorld, GIB } from "./disk-world.js";

describe("DiskService: storage pools, the disk_type → pool mapping, and an offline gateway (000 §6.1.2)", function () {
  this.timeout(120_000);
  const w = new DiskWorld();
  before(() => w.start());
  after(() => w.stop());

  it("lists the pools the gateway reported, with usage, the disk types mapped to them, and its cluster access", async () => {
    const { storagePools } = await w.as("admin").listStoragePools({});
    const byName = new Map(storagePools.map((p) => [p.name, p]));
    expect([...byName.keys()].sort()).to.deep.equal(["private-data-disks", "private-data-disks-ssd"]);
    const std = byName.get("private-data-disks")!;
    expect(std.status).to.equal(StoragePoolStatus.ACTIVE);
    expect(std.agentId).to.equal(w.gateway.agentId);
    expect(std.edgeDataCenterId).to.equal(w.dataCenterId);
    expect(std.availableBytes).to.equal(1000n * GIB);
    expect(std.capacityBytes).to.equal(1010n * GIB);
    expect(std.diskTypes).to.deep.equal([DiskType.STANDARD]);
    expect((await w.as("admin").getStoragePool({ id: std.id })).storagePool!.name).to.equal("private-data-disks");
    const gw = await w.knex("ceph_gateways").where({ agent_id: w.gateway.agentId }).first();
    expect(gw.mon_hosts).to.deep.equal(["10.0.0.1:6789"]);
    expect(gw.auth_user).to.equal("admin");
    expect((await w.as("admin").listStoragePools({ name: "private-data-disks-ssd" })).storagePools.length).to.equal(1);
    expect((await connectErrorOf(w.as("admin").listStoragePools({ name: "bad name!" }))).code).to.equal(
      Code.InvalidArgument,
    );
    expect(
      (await connectErrorOf(w.as("admin").getStoragePool({ id: "01900000-0000-7000-8000-000000000000" }))).code,
    ).to.equal(Code.NotFound);
  });

  it("a disk type whose pool no gateway reports is failed_precondition NO_STORAGE_POOL", async () => {
    const err = await connectErrorOf(w.create({ name: "nvme-disk", diskType: DiskType.NVME }));
    expect(err.code).to.equal(Code.FailedPrecondition);
    expect(errorReasons(err)).to.include("NO_STORAGE_POOL");
    expect(err.rawMessage).to.include("private-data-disks-nvme");
  });

  it("reads and changes the mapping (admins only; validated); new disks follow it", async () => {
    const { diskTypePools } = await w.as(w.alice).listDiskTypePools({});
    expect(diskTypePools.map((m) => [m.diskType, m.poolName])).to.deep.equal([
      [DiskType.NVME, "private-data-disks-nvme"],
      [DiskType.SSD, "private-data-disks-ssd"],
      [DiskType.STANDARD, "private-data-disks"],
    ]);
    let err = await connectErrorOf(
      w.as("admin").updateDiskTypePool({ diskTypePool: { diskType: DiskType.NVME, poolName: "no spaces allowed" } }),
    );
    expect(violatedFields(err)).to.include("disk_type_pool.pool_name");
    err = await connectErrorOf(w.as("admin").updateDiskTypePool({ diskTypePool: { poolName: "x" } }));
    expect(violatedFields(err)).to.include("disk_type_pool.disk_type");
    const r = await w.as("admin").updateDiskTypePool({
      diskTypePool: { diskType: DiskType.NVME, poolName: "private-data-disks-ssd" },
    });
    expect(r.diskTypePool!.poolName).to.equal("private-data-disks-ssd");
    const { disk } = await w.create({ name: "nvme-on-ssd", diskType: DiskType.NVME });
    expect(disk!.rbdPool).to.equal("private-data-disks-ssd");
    await w.available(disk!.id);
    await w
      .as("admin")
      .updateDiskTypePool({ diskTypePool: { diskType: DiskType.NVME, poolName: "private-data-disks-nvme" } });
    expect((await w.as("admin").getDisk({ id: disk!.id })).disk!.rbdPool).to.equal("private-data-disks-ssd");
  });

  it("a disk bigger than the pool's free space is resource_exhausted STORAGE_POOL_FULL with the free bytes in the details", async () => {
    w.gateway.availableBytes = 30n * GIB;
    w.clock.advance(61_000);
    await w.refreshPools();
    const err = await connectErrorOf(w.create({ name: "huge", sizeGb: 31 }));
    expect(err.code).to.equal(Code.ResourceExhausted);
    expect(errorReasons(err)).to.include("STORAGE_POOL_FULL");
    const info = err.findDetails(ErrorInfoSchema).find((d) => d.reason === "STORAGE_POOL_FULL")!;
    expect(info.metadata.available_bytes).to.equal((30n * GIB).toString());
    // Two disks of 20 GB: the second no longer fits in what the first left (taken under the pool's lock).
    const first = await w.create({ name: "half-1", sizeGb: 20 });
    const second = await connectErrorOf(w.create({ name: "half-2", sizeGb: 20 }));
    expect(errorReasons(second)).to.include("STORAGE_POOL_FULL");
    await w.available(first.disk!.id);
    // A pool the gateway measures nothing of (no ceph-mgr: 0 used, 0 free) has an unknown capacity and refuses nothing.
    await w.knex("storage_pools").update({ capacity_bytes: 0, used_bytes: 0, available_bytes: 0 });
    const unknown = await w.create({ name: "unmeasured", sizeGb: 100 });
    expect(unknown.disk!.status).to.equal(DiskStatus.CREATING);
    await w.available(unknown.disk!.id);
    w.gateway.availableBytes = 1000n * GIB;
    w.clock.advance(61_000);
    await w.refreshPools();
  });

  it("concurrent creates never take more than the pool's free space (the pool row is locked, the CHECK holds)", async () => {
    w.gateway.availableBytes = 30n * GIB;
    w.clock.advance(61_000);
    await w.refreshPools();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => w.create({ name: `pool-race-${i}`, sizeGb: 5 }, i % 2 ? w.alice : w.bob)),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    expect(ok.length).to.equal(6);
    for (const r of results)
      if (r.status === "rejected")
        expect((r.reason as { code: Code }).code).to.be.oneOf([Code.ResourceExhausted, Code.Aborted]);
    const pool = await w
      .knex("storage_pools")
      .where({ agent_id: w.gateway.agentId, name: "private-data-disks" })
      .first();
    expect(String(pool.available_bytes)).to.equal("0");
    for (const r of ok) await w.available((r as PromiseFulfilledResult<{ disk?: { id: string } }>).value.disk!.id);
    w.gateway.availableBytes = 1000n * GIB;
    w.clock.advance(61_000);
    await w.refreshPools();
  });

  it("gateway offline: the create command waits, then the disk fails at its deadline with a readable reason", async () => {
    const { disk } = await w.create({ name: "offline-create" });
    await w.knex("agents").where({ id: w.gateway.agentId }).update({ status: "offline" });
    const cmd = await w.passUntil<{ state: string }>(() =>
      w.knex("agent_commands").where("idempotency_key", "like", `disk:${disk!.id}:%`).first("state"),
    );
    await w.gateway.answer(w.knex, w.clock.now()); // an offline gateway answers nothing
    expect(cmd.state).to.equal("queued");
    expect(
      (await w.knex("agent_commands").where("idempotency_key", "like", `disk:${disk!.id}:%`).first("state")).state,
    ).to.equal("queued");
    expect((await w.as(w.alice).getDisk({ id: disk!.id })).disk!.status).to.equal(DiskStatus.CREATING);
    // New disks are not placed on the pools of a gateway that is not connected.
    await w.refreshOnce();
    const pools = await w.as("admin").listStoragePools({ status: StoragePoolStatus.UNREACHABLE });
    expect(pools.storagePools.length).to.equal(2);
    expect(errorReasons(await connectErrorOf(w.create({ name: "nowhere" })))).to.include("NO_STORAGE_POOL");
    w.clock.advance(11 * 60_000);
    const d = await w.converge(disk!.id, (x) => x.status === DiskStatus.ERROR);
    expect(d.lastError).to.match(
      /Creation of image .* did not finish by its deadline \(ceph_gateway ceph-gw-1 is offline\)/,
    );
    const after = await w.knex("agent_commands").where("idempotency_key", "like", `disk:${disk!.id}:%`).first("state");
    expect(["cancelled", "expired"]).to.include(after.state);
  });

  it("a gateway that connects again (a new Hello) is asked for its pools at once; they come back active", async () => {
    await w
      .knex("agents")
      .where({ id: w.gateway.agentId })
      .update({ status: "connected", connected_at: w.clock.now() });
    await w.refreshPools();
    const active = await w.as("admin").listStoragePools({ status: StoragePoolStatus.ACTIVE });
    expect(active.storagePools.length).to.equal(2);
    // A pool missing from the listing becomes absent.
    w.gateway.pools.delete("private-data-disks-ssd");
    await w
      .knex("agents")
      .where({ id: w.gateway.agentId })
      .update({ connected_at: new Date(w.clock.now().getTime() + 1) });
    w.clock.advance(1000);
    await w.refreshPools();
    const absent = await w.as("admin").listStoragePools({ status: StoragePoolStatus.ABSENT });
    expect(absent.storagePools.map((p) => p.name)).to.deep.equal(["private-data-disks-ssd"]);
    // A revoked gateway's pools take no new disks either.
    await w.knex("agents").where({ id: w.gateway.agentId }).update({ status: "revoked", revoked_at: w.clock.now() });
    await w.refreshOnce();
    expect((await w.as("admin").listStoragePools({ status: StoragePoolStatus.ACTIVE })).storagePools).to.deep.equal([]);
    expect(errorReasons(await connectErrorOf(w.create({ name: "revoked-gw" })))).to.include("NO_STORAGE_POOL");
  });
});
