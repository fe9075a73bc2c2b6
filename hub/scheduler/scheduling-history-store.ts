import type { Knex } from "knex";
import { pageOf, type Page, type PageRequest } from "../api/page-token.js";
import { NotFoundError } from "../domain/errors.js";
import type { PlacementRequest } from "./placement-request.js";
import type { RejectionCounts } from "./rejection-reasons.js";
import type { SchedulingPolicy } from "./scheduling-snapshot.js";

// scheduling_history (spec 004 §5.1): one row per placement attempt, placed or failed; rows are
// never changed once written.

export type SchedulingOutcome = "placed" | "failed";

export interface SchedulingRecord {
  id: string;
  instanceId: string;
  vmId: string;
  tenantId: string;
  request: StoredRequest;
  policy: SchedulingPolicy;
  candidatesConsidered: number;
  rejected: RejectionCounts;
  chosenMachineId: string | null;
  chosenGpuIds: string[];
  outcome: SchedulingOutcome;
  failureReason: string | null;
  durationMs: number;
  createdAt: Date;
}

/** The request as stored (what was asked; the ids it names live in their own columns). */
export interface StoredRequest {
  compute_pool_id: string | null;
  rental_mode: PlacementRequest["rentalMode"];
  cpu_cores: number;
  memory_gb: number;
  storage_gb: number;
  gpu_count: number;
  gpu_model: string | null;
  required_labels: Record<string, string>;
  affinity_machine_id: string | null;
}

export function storedRequest(req: PlacementRequest): StoredRequest {
  return {
    compute_pool_id: req.computePoolId,
    rental_mode: req.rentalMode,
    cpu_cores: req.cpuCores,
    memory_gb: req.memoryGb,
    storage_gb: req.storageGb,
    gpu_count: req.gpuCount,
    gpu_model: req.gpuModel,
    required_labels: req.requiredLabels,
    affinity_machine_id: req.affinityMachineId,
  };
}

export type NewSchedulingRecord = Omit<SchedulingRecord, "createdAt">;

export async function insertSchedulingRecord(knex: Knex, r: NewSchedulingRecord): Promise<void> {
  await knex("scheduling_history").insert({
    id: r.id,
    instance_id: r.instanceId,
    vm_id: r.vmId,
    tenant_id: r.tenantId,
    request: JSON.stringify(r.request),
    policy: r.policy,
    candidates_considered: r.candidatesConsidered,
    rejected: JSON.stringify(r.rejected),
    chosen_machine_id: r.chosenMachineId,
    chosen_gpu_ids: JSON.stringify(r.chosenGpuIds),
    outcome: r.outcome,
    failure_reason: r.failureReason,
    duration_ms: r.durationMs,
  });
}

const COLUMNS = [
  "id",
  "instance_id",
  "vm_id",
  "tenant_id",
  "request",
  "policy",
  "candidates_considered",
  "rejected",
  "chosen_machine_id",
  "chosen_gpu_ids",
  "outcome",
  "failure_reason",
  "duration_ms",
  "created_at",
];

const json = <T>(v: unknown): T => (typeof v === "string" ? JSON.parse(v) : v) as T;

function recordOf(r: Record<string, unknown>): SchedulingRecord {
  return {
    id: r.id as string,
    instanceId: r.instance_id as string,
    vmId: r.vm_id as string,
    tenantId: r.tenant_id as string,
    request: json<StoredRequest>(r.request),
    policy: r.policy as SchedulingPolicy,
    candidatesConsidered: Number(r.candidates_considered),
    rejected: json<RejectionCounts>(r.rejected),
    chosenMachineId: (r.chosen_machine_id as string | null) ?? null,
    chosenGpuIds: json<string[]>(r.chosen_gpu_ids),
    outcome: r.outcome as SchedulingOutcome,
    failureReason: (r.failure_reason as string | null) ?? null,
    durationMs: Number(r.duration_ms),
    createdAt: new Date(r.created_at as string),
  };
}

export async function getSchedulingRecord(knex: Knex, id: string): Promise<SchedulingRecord> {
  const row = (await knex("scheduling_history").where("id", id).first(COLUMNS)) as Record<string, unknown> | undefined;
  if (!row) throw new NotFoundError("scheduling record", id);
  return recordOf(row);
}

export interface SchedulingRecordQuery {
  instanceId: string | null;
  outcome: SchedulingOutcome | null;
  machineId: string | null;
  /** Keyset on (created_at, id): the full-precision created_at text and id of the previous page's last row. */
  page: PageRequest;
}

/** Newest first, ties broken by id; each filter has an index in this order. */
export async function listSchedulingRecords(knex: Knex, q: SchedulingRecordQuery): Promise<Page<SchedulingRecord>> {
  const query = knex("scheduling_history")
    .orderBy([
      { column: "created_at", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(q.page.pageSize + 1)
    .select([...COLUMNS, knex.raw("created_at::text AS created_key")]);
  if (q.instanceId) query.where("instance_id", q.instanceId);
  if (q.outcome) query.where("outcome", q.outcome);
  if (q.machineId) query.where("chosen_machine_id", q.machineId);
  if (q.page.after)
    query.whereRaw("(created_at, id) < (?::timestamptz, ?::uuid)", [q.page.after[0]!, q.page.after[1]!]);
  const rows = (await query) as Record<string, unknown>[];
  const page = pageOf(rows, q.page, (r) => [r.created_key as string, r.id as string]);
  return { items: page.items.map(recordOf), nextPageToken: page.nextPageToken };
}
