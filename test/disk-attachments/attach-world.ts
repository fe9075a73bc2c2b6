import { create, toJson } from "@bufbuild/protobuf";
import type { Knex } from "knex";
import pino from "pino";
import { DiskService } from "../../gen/edgehub/admin/v1/disk_pb.js";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { ADVISORY_LOCK_KEYS } from "../../hub/db/advisory-lock-keys.js";
import { newId } from "../../hub/db/ids.js";
import { AttachmentReconciler } from "../../hub/disk-attachments/attachment-reconciler.js";
import { attachInTransaction } from "../../hub/disk-attachments/attach-disk.js";
import { onInstanceRunning } from "../../hub/disk-attachments/auto-attach.js";
import type { DiskAttachment, MountMode } from "../../hub/disk-attachments/disk-attachment.js";
import { getDisk } from "../../hub/disk-attachments/disk-attachment-store.js";
import { applyAgentReport, markDelivered } from "../../hub/fleet/command-store.js";
import { InstanceReconciler } from "../../hub/instances/instance-reconciler.js";
import { getInstance } from "../../hub/instances/instance-store.js";
import { releaseAllocation } from "../../hub/scheduler/release-allocation.js";
import { CatalogPeople, PASSWORD, type TestUser } from "../catalog/catalog-fixtures.js";
import { InstanceWorld, type AgentPlay } from "../instances/instance-fixtures.js";

// InstanceWorld (a real hub, the compute agent played through the real command store) plus what
// attachments need: a ceph_gateway with its cluster access and storage pool, disks, many stopped
// instances, the reconciler with the auto-attach hook, and the attachment reconciler. The played
// agent answers attach_disk / detach_disk the way rbd.proto's contract says (AttachedDiskReport).

export interface DiskSeed {
  shareMode?: "exclusive" | "shared";
  maxAttachments?: number;
  diskType?: "standard" | "ssd" | "nvme";
  status?: string;
  name?: string;
}

export interface DiskPlay extends AgentPlay {
  /** Fail attach_disk / detach_disk with this error. */
  diskFailWith?: string;
  /** Fail attach_disk only for these target devices. */
  failTargets?: string[];
}

export class AttachWorld extends InstanceWorld {
  gatewayAgentId = "";
  storagePoolId = "";
  attachments!: AttachmentReconciler;
  play: DiskPlay = {};

  override async start(): Promise<void> {
    await super.start();
    this.gatewayAgentId = newId();
    await this.knex("agents").insert({
      id: this.gatewayAgentId,
      role: "ceph_gateway",
      hostname: "ceph-gw",
      edge_data_center_id: this.pool.dataCenterId,
      certificate_serial: "1",
      certificate_expires_at: new Date(Date.now() + 86_400_000),
      status: "connected",
    });
    await this.knex("ceph_gateways").insert({
      agent_id: this.gatewayAgentId,
      mon_hosts: this.knex.raw("ARRAY['v2:127.0.0.1:3300']::text[]"),
    });
    this.storagePoolId = newId();
    await this.knex("storage_pools").insert({
      id: this.storagePoolId,
      agent_id: this.gatewayAgentId,
      name: "private-data-disks",
      capacity_bytes: 1 << 30,
      available_bytes: 1 << 30,
    });
    await this.reconciler.stop();
    const log = pino({ level: "silent" });
    this.reconciler = new InstanceReconciler({
      knex: this.knex,
      clock: this.clock,
      log,
      placement: { releaseAllocation },
      lockKey: ADVISORY_LOCK_KEYS.instanceReconciler,
      intervalMs: 3_600_000,
      graphicsListen: "127.0.0.1",
      shutdownTimeoutMs: 1000,
      onRunning: (trx, id, at) => onInstanceRunning(trx, id, at, log),
    });
    this.attachments = new AttachmentReconciler({
      knex: this.knex,
      clock: this.clock,
      log,
      // Not the hub's key: the test's passes never wait for the hub's own loop.
      lockKey: 0x74737461,
      intervalMs: 3_600_000,
    });
  }

  override async stop(): Promise<void> {
    await this.attachments?.stop();
    await super.stop();
  }

  disks(u: TestUser) {
    return this.t.client(DiskService, this.tokenOf(u));
  }

  tokenOf(u: TestUser): string {
    return (this as unknown as { tokens: Map<string, string> }).tokens.get(u.username)!;
  }

  /** Another user of alice's tenant, logged in: a test that needs an owner with no disks yet. */
  async freshUser(username: string): Promise<TestUser> {
    const u = await new CatalogPeople(this.knex).user(username, "user", {
      id: this.alice.tenantId!,
      name: this.alice.tenantName,
    });
    (this as unknown as { tokens: Map<string, string> }).tokens.set(
      username,
      await this.t.login(username, PASSWORD, u.tenantName),
    );
    return u;
  }

  /** A disk row as hub/disks leaves it once the gateway created the image (available). */
  async disk(owner: TestUser, seed: DiskSeed = {}): Promise<string> {
    const id = newId();
    await this.knex("private_data_disks").insert({
      id,
      user_id: owner.userId,
      tenant_id: owner.tenantId,
      name: seed.name ?? `disk-${id.slice(-8)}`,
      size_gb: 1,
      provisioned_size_gb: 1,
      disk_type: seed.diskType ?? "standard",
      status: seed.status ?? "available",
      share_mode: seed.shareMode ?? "exclusive",
      max_attachments: seed.maxAttachments ?? 1,
      rbd_image_name: `disk-${id}`,
      rbd_pool: "private-data-disks",
      storage_pool_id: this.storagePoolId,
      created_at: new Date(Date.now() + (await this.knex("private_data_disks").count<{ n: number }[]>("* as n"))[0]!.n),
    });
    return id;
  }

  /** `n` stopped instances of `owner`, as copies of one made through the API (no quota for the copies). */
  async stoppedInstances(owner: TestUser, n: number, over: { memoryGb?: number } = {}): Promise<string[]> {
    const first = (await this.create({ memoryGb: over.memoryGb ?? 2 }, owner)).instance!.id;
    const row = (await this.knex("instances").where({ id: first }).first()) as Record<string, unknown>;
    const ids = [first];
    for (let k = 1; k < n; k++) {
      const id = newId();
      await this.knex("instances").insert({ ...row, id, name: `desk-${k}` });
      ids.push(id);
    }
    return ids;
  }

  /** One attach through the hub's own operation, the instance row locked as the API does. */
  attach(
    instanceId: string,
    diskId: string,
    mountMode: MountMode | null = null,
    mountPath = "",
  ): Promise<DiskAttachment> {
    return this.knex.transaction(async (trx) =>
      attachInTransaction(trx, {
        instance: await getInstance(trx, instanceId, { lock: true }),
        disk: await getDisk(trx, diskId),
        mountPath,
        mountMode,
        origin: "manual",
        actorId: null,
        at: this.clock.now(),
      }),
    );
  }

  override async agentAnswers(play: AgentPlay = {}): Promise<string[]> {
    const kinds = await this.diskAnswers(this.play);
    return [...kinds, ...(await super.agentAnswers(play))];
  }

  /** Plays the compute agent for attach_disk / detach_disk. */
  async diskAnswers(play: DiskPlay = this.play): Promise<string[]> {
    const rows = (await this.knex("agent_commands")
      .whereIn("kind", ["attach_disk", "detach_disk"])
      .whereIn("state", ["queued", "delivered"])
      .orderBy("created_at")
      .select("id", "agent_id", "kind", "payload")) as {
      id: string;
      agent_id: string;
      kind: string;
      payload: Record<string, { domainName: string; targetDev: string }>;
    }[];
    for (const r of rows) {
      await markDelivered(this.knex, [r.id], this.clock.now());
      const p = Object.values(r.payload)[0]!;
      const attach = r.kind === "attach_disk";
      const fail =
        play.diskFailWith ?? (attach && play.failTargets?.includes(p.targetDev) ? "rbd: connection timed out" : "");
      const result = create(CommandResultSchema, {
        kind: {
          case: "attachedDisk",
          value: { domainName: p.domainName, targetDev: p.targetDev, attached: attach, live: attach },
        },
      });
      await applyAgentReport(
        this.knex,
        r.agent_id,
        r.id,
        fail
          ? { state: "failed", result: undefined, error: fail }
          : { state: "succeeded", result: toJson(CommandResultSchema, result), error: null },
        this.clock.now(),
      );
    }
    return rows.map((r) => r.kind);
  }

  /** Answers disk commands and settles attachments until none is in flight (bounded by passes). */
  async settle(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      await this.diskAnswers();
      await this.attachments.runOnce();
      const busy = await this.knex("instance_private_data_disk_attachments")
        .whereNull("deleted_at")
        .whereIn("status", ["attaching", "detaching"])
        .first("id");
      if (!busy) return;
    }
    throw new Error("attachments did not settle");
  }

  async attachmentRows(where: Record<string, unknown> = {}) {
    return (await this.knex("instance_private_data_disk_attachments")
      .where(where)
      .whereNull("deleted_at")
      .orderBy("id")
      .select()) as Record<string, unknown>[];
  }

  async diskRow(id: string) {
    return (await this.knex("private_data_disks").where({ id }).first("status", "attachment_count")) as {
      status: string;
      attachment_count: number;
    };
  }
}

let shared: Promise<AttachWorld> | undefined;
let suites = 0;

/**
 * One world for every hub-side attachment suite in a run (a PGlite hub start costs most of a
 * suite's time): started by the first suite that asks, stopped after the last of them. Suites keep
 * out of each other's way by owning their disks (fresh users where counts matter). Call
 * joinSharedAttachWorld() in the suite's describe body (it counts the suites and adds the after hook).
 */
export function sharedAttachWorld(): Promise<AttachWorld> {
  shared ??= (async () => {
    const w = new AttachWorld();
    await w.start();
    return w;
  })();
  return shared;
}

async function stopShared(): Promise<void> {
  const w = shared;
  shared = undefined;
  if (w) await (await w).stop();
}

export function joinSharedAttachWorld(): void {
  suites++;
  after(async () => {
    if (--suites === 0) await stopShared();
  });
}

// Fallback root hook (a suite filtered out by --grep never runs its after): stop at the very end.
after(stopShared);
