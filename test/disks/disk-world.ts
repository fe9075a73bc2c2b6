import type { Knex } from "knex";
import pino from "pino";
import { ManualClock } from "../../lib/clock/clock.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { DiskSchema, DiskService, DiskStatus, DiskType, type Disk } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import { newId } from "../../hub/db/ids.js";
import { DiskReconciler } from "../../hub/disks/disk-reconciler.js";
import { refreshStoragePools } from "../../hub/disks/storage-pool-refresh.js";
import { startTestHub, type TestHub } from "../support/test-hub.js";
import { CatalogPeople, PASSWORD, type TestUser } from "../catalog/catalog-fixtures.js";
import { FakeCephGateway } from "./fake-ceph-gateway.js";

export const GIB = 1024n ** 3n;

// A real hub (PGlite, or PostgreSQL with DATABASE_URL) with people in two tenants and one
// ceph_gateway played by the test (FakeCephGateway), its pools learnt through the real refresh path.

export class DiskWorld {
  t!: TestHub;
  readonly clock = new ManualClock();
  reconciler!: DiskReconciler;
  gateway!: FakeCephGateway;
  alice!: TestUser;
  bob!: TestUser;
  carol!: TestUser; // tenant_admin of tenant-a
  dave!: TestUser; // a user of tenant-b
  tenantA!: { id: string; name: string };
  dataCenterId = "";
  adminToken = "";
  private readonly tokens = new Map<string, string>();

  get knex(): Knex {
    return this.t.hub.db.knex;
  }

  async start(): Promise<void> {
    this.t = await startTestHub({ clock: this.clock });
    const people = new CatalogPeople(this.knex);
    this.tenantA = await people.tenant("tenant-a");
    const b = await people.tenant("tenant-b");
    this.alice = await people.user("alice", "user", this.tenantA);
    this.bob = await people.user("bob", "user", this.tenantA);
    this.carol = await people.user("carol", "tenant_admin", this.tenantA);
    this.dave = await people.user("dave", "user", b);
    for (const u of [this.alice, this.bob, this.carol, this.dave])
      this.tokens.set(u.username, await this.t.login(u.username, PASSWORD, u.tenantName));
    this.adminToken = await this.t.adminToken();
    this.dataCenterId = newId();
    await this.knex("edge_data_centers").insert({ id: this.dataCenterId, name: `dc-${this.dataCenterId}` });
    const agentId = newId();
    await this.knex("agents").insert({
      id: agentId,
      role: "ceph_gateway",
      hostname: "ceph-gw-1",
      edge_data_center_id: this.dataCenterId,
      certificate_serial: "1",
      certificate_expires_at: new Date(Date.now() + 86_400_000),
      status: "connected",
      connected_at: this.clock.now(),
    });
    this.gateway = new FakeCephGateway(agentId, ["private-data-disks", "private-data-disks-ssd"]);
    this.reconciler = new DiskReconciler({
      knex: this.knex,
      clock: this.clock,
      log: pino({ level: "silent" }),
      lockKey: ADVISORY_LOCK_KEYS.diskReconciler,
      intervalMs: 3_600_000,
    });
    await this.refreshPools();
  }

  async stop(): Promise<void> {
    await this.reconciler?.stop();
    await this.t?.stop();
  }

  /** One refresh round: the list_rbd_pools command queued, answered, and its listing applied. */
  async refreshPools(): Promise<void> {
    await this.knex.transaction((trx) => refreshStoragePools(trx, this.clock.now(), 60_000));
    await this.gateway.answer(this.knex, this.clock.now());
    await this.knex.transaction((trx) => refreshStoragePools(trx, this.clock.now(), 60_000));
  }

  as(u: TestUser | "admin") {
    return this.t.client(DiskService, u === "admin" ? this.adminToken : this.tokens.get(u.username)!);
  }

  create(over: Omit<MessageInitShape<typeof DiskSchema>, "$typeName"> = {}, u: TestUser = this.alice) {
    return this.as(u).createDisk({ disk: { name: "data", sizeGb: 10, diskType: DiskType.STANDARD, ...over } });
  }

  /**
   * Reconciler passes with the gateway answering in between until `done` holds for the disk; bounded
   * by passes, not by time (the hub's own reconciler may take a pass meanwhile; ours then skips).
   */
  async converge(diskId: string, done: (d: Disk) => boolean, failWith?: string): Promise<Disk> {
    for (let i = 0; i < 100; i++) {
      await this.reconciler.runOnce();
      await this.gateway.answer(this.knex, this.clock.now(), failWith);
      const d = (
        await this.as("admin")
          .getDisk({ id: diskId })
          .catch(() => undefined)
      )?.disk;
      if (d === undefined || done(d)) return d as Disk;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`disk ${diskId} did not converge`);
  }

  async available(diskId: string): Promise<Disk> {
    return this.converge(diskId, (d) => d.status === DiskStatus.AVAILABLE && d.provisionedSizeGb === d.sizeGb);
  }

  /** Passes until the snapshot leaves `creating`/`deleting` (or is gone). */
  async settleSnapshot(id: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await this.reconciler.runOnce();
      await this.gateway.answer(this.knex, this.clock.now());
      const row = (await this.knex("private_data_disk_snapshots").where({ id }).first("status", "deleted_at")) as {
        status: string;
        deleted_at: Date | null;
      };
      if (row.deleted_at || (row.status !== "creating" && row.status !== "deleting")) return;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`snapshot ${id} did not settle`);
  }

  async setQuota(holder: "user" | "tenant", id: string, gb: number): Promise<void> {
    await this.knex(holder === "user" ? "users" : "tenants")
      .where({ id })
      .update({ quota_config: JSON.stringify({ max_private_data_disk_gb: gb }) });
  }

  async quotaUsedGb(userId: string): Promise<number> {
    const row = (await this.knex("quota_consumers")
      .where({ user_id: userId, consumer_type: "private_data_disk" })
      .sum({ gb: "occ_private_data_disk_gb" })
      .first()) as { gb: string | null };
    return Number(row.gb ?? 0);
  }
}
