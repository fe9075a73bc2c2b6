import { create, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import type { Knex } from "knex";
import { CommandResultSchema } from "../../gen/edgehub/common/v1/command_pb.js";
import { applyAgentReport, markDelivered } from "../../hub/fleet/command-store.js";

// A ceph_gateway played by the test through the real command store: an in-memory cluster that
// answers each queued RBD command the way rbd.proto says a gateway does (idempotent, clones need a
// protected snapshot, a snapshot with clones cannot be removed). The hub's logic is exercised step by
// step; test/disks/disk-ceph.test.ts runs a real agent against real Ceph instead.

const GIB = 1024n ** 3n;

interface FakeImage {
  sizeBytes: bigint;
  snapshots: Map<string, { sizeBytes: bigint; protected: boolean }>;
  parent: { pool: string; image: string; snapshot: string } | null;
}

type Result = MessageInitShape<typeof CommandResultSchema>;

export class FakeCephGateway {
  /** pool → image → state */
  readonly pools = new Map<string, Map<string, FakeImage>>();
  /** What list_rbd_pools reports as free per pool. */
  availableBytes = 1000n * GIB;
  /** Kinds of the commands answered, in order. */
  readonly answered: string[] = [];

  constructor(
    readonly agentId: string,
    poolNames: string[],
  ) {
    for (const p of poolNames) this.pools.set(p, new Map());
  }

  image(pool: string, image: string): FakeImage | undefined {
    return this.pools.get(pool)?.get(image);
  }

  /** Answers every unfinished command of this gateway (none while its agent row is not connected). */
  async answer(knex: Knex, now: Date, failWith?: string): Promise<string[]> {
    const agent = (await knex("agents").where({ id: this.agentId }).first("status")) as { status: string };
    if (agent.status !== "connected") return [];
    const rows = (await knex("agent_commands")
      .where({ agent_id: this.agentId })
      .whereIn("state", ["queued", "delivered"])
      .orderBy("created_at")
      .select("id", "kind", "payload")) as { id: string; kind: string; payload: Record<string, never> }[];
    for (const r of rows) {
      await markDelivered(knex, [r.id], now);
      let outcome: { state: "succeeded"; result: Result } | { state: "failed"; error: string };
      try {
        if (failWith && r.kind !== "list_rbd_pools") throw new Error(failWith);
        outcome = { state: "succeeded", result: this.run(r.kind, Object.values(r.payload)[0] ?? {}) };
      } catch (err) {
        outcome = { state: "failed", error: (err as Error).message };
      }
      await applyAgentReport(
        knex,
        this.agentId,
        r.id,
        outcome.state === "succeeded"
          ? {
              state: "succeeded",
              result: toJson(CommandResultSchema, create(CommandResultSchema, outcome.result)),
              error: null,
            }
          : { state: "failed", result: undefined, error: outcome.error },
        now,
      );
      this.answered.push(r.kind);
    }
    return rows.map((r) => r.kind);
  }

  private pool(name: string): Map<string, FakeImage> {
    const p = this.pools.get(name);
    if (!p) throw new Error(`pool ${name} does not exist`);
    return p;
  }

  private report(pool: string, image: string): Result {
    const img = this.pools.get(pool)?.get(image);
    return {
      kind: {
        case: "rbdImage",
        value: {
          pool,
          image,
          exists: img !== undefined,
          sizeBytes: img?.sizeBytes ?? 0n,
          parentPool: img?.parent?.pool ?? "",
          parentImage: img?.parent?.image ?? "",
          parentSnapshot: img?.parent?.snapshot ?? "",
          snapshots: img ? [...img.snapshots].map(([name, s]) => ({ name, ...s })) : [],
        },
      },
    };
  }

  private hasClones(pool: string, image: string, snapshot: string): boolean {
    for (const p of this.pools.values())
      for (const img of p.values())
        if (img.parent?.pool === pool && img.parent.image === image && img.parent.snapshot === snapshot) return true;
    return false;
  }

  /** One command's effect; throws the error a gateway would report. */
  private run(kind: string, body: Record<string, any>): Result {
    const ref = body.image ?? body.snapshot ?? body;
    const snapOf = (img: FakeImage | undefined, name: string) => {
      if (!img) throw new Error(`image ${ref.pool}/${ref.image} does not exist`);
      return img.snapshots.get(name);
    };
    switch (kind) {
      case "create_rbd_image": {
        const size = BigInt(body.sizeBytes);
        const existing = this.pool(ref.pool).get(ref.image);
        if (existing && existing.sizeBytes !== size) throw new Error(`image ${ref.image} exists with another size`);
        if (!existing) this.pool(ref.pool).set(ref.image, { sizeBytes: size, snapshots: new Map(), parent: null });
        return this.report(ref.pool, ref.image);
      }
      case "resize_rbd_image": {
        const img = this.pool(ref.pool).get(ref.image);
        if (!img) throw new Error(`image ${ref.image} does not exist`);
        const size = BigInt(body.sizeBytes);
        if (size < img.sizeBytes) throw new Error("shrinking is refused");
        img.sizeBytes = size;
        return this.report(ref.pool, ref.image);
      }
      case "remove_rbd_image": {
        const img = this.pool(ref.pool).get(ref.image);
        if (img) {
          for (const name of img.snapshots.keys())
            if (this.hasClones(ref.pool, ref.image, name)) throw new Error(`snapshot ${name} has clones`);
          this.pool(ref.pool).delete(ref.image);
        }
        return this.report(ref.pool, ref.image);
      }
      case "create_rbd_snapshot": {
        const img = this.pool(ref.pool).get(ref.image);
        if (!snapOf(img, ref.snapshot))
          img!.snapshots.set(ref.snapshot, { sizeBytes: img!.sizeBytes, protected: false });
        return this.report(ref.pool, ref.image);
      }
      case "protect_rbd_snapshot":
      case "unprotect_rbd_snapshot": {
        const s = snapOf(this.pool(ref.pool).get(ref.image), ref.snapshot);
        if (!s) throw new Error(`snapshot ${ref.snapshot} does not exist`);
        if (kind === "unprotect_rbd_snapshot" && this.hasClones(ref.pool, ref.image, ref.snapshot))
          throw new Error(`snapshot ${ref.snapshot} has clones`);
        s.protected = kind === "protect_rbd_snapshot";
        return this.report(ref.pool, ref.image);
      }
      case "remove_rbd_snapshot": {
        const img = this.pool(ref.pool).get(ref.image);
        const s = img?.snapshots.get(ref.snapshot);
        if (s?.protected) throw new Error(`snapshot ${ref.snapshot} is protected`);
        img?.snapshots.delete(ref.snapshot);
        return this.report(ref.pool, ref.image);
      }
      case "clone_rbd_image": {
        const { parent, child } = body;
        const s = snapOf(this.pool(parent.pool).get(parent.image), parent.snapshot);
        if (!s?.protected) throw new Error(`snapshot ${parent.snapshot} is not protected`);
        if (!this.pool(child.pool).has(child.image))
          this.pool(child.pool).set(child.image, {
            sizeBytes: s.sizeBytes,
            snapshots: new Map(),
            parent: { ...parent },
          });
        return this.report(child.pool, child.image);
      }
      case "list_rbd_pools":
        return {
          kind: {
            case: "rbdPools",
            value: {
              pools: [...this.pools.keys()].map((name) => ({
                name,
                usedBytes: 10n * GIB,
                availableBytes: this.availableBytes,
                objectCount: BigInt(this.pools.get(name)!.size),
              })),
              cluster: { monHosts: ["10.0.0.1:6789"], authUser: "admin", secretUuid: "" },
            },
          },
        };
      default:
        throw new Error(`unexpected command ${kind}`);
    }
  }
}
