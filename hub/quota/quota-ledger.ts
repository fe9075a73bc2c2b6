import type { Knex } from "knex";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  type ExceededDimension,
} from "../domain/errors.js";
import { occupancy, type ConsumerType, type OccupancyOptions } from "./occupancy.js";
import {
  DIMENSIONS,
  addResources,
  limitsFromConfig,
  normalizeResources,
  round3,
  subtractResources,
  zeroResources,
  type QuotaLimits,
  type Resources,
} from "./quota-dimensions.js";
import { borrowed, groupUsage, groupsAboveUser, ledgerUsage, type HolderType, type QuotaMode } from "./quota-usage.js";

/** A consumer (an instance, a private data disk) asking to occupy what `state` implies. */
export interface QuotaRequest {
  consumer: { type: ConsumerType; id: string };
  tenantId: string;
  /** The owning user; null for objects no user owns (then only tenant and instance set are checked). */
  userId: string | null;
  instanceSetId?: string | null;
  /** Instance state of 000 §10.4.1, or a disk state (`deleted` releases). */
  state: string;
  /** The object's full size; what it occupies follows from the state. */
  resources: Partial<Resources>;
  options?: OccupancyOptions;
}

export interface QuotaVerdict {
  allowed: boolean;
  /** Every dimension, at every level, that the request would exceed. */
  exceeded: ExceededDimension[];
  /** What the consumer will occupy. */
  occupied: Resources;
  /** Change against what it occupied before; negative parts are released. */
  delta: Resources;
}

interface Holder {
  holderType: HolderType;
  holderId: string;
  limits: QuotaLimits;
}

interface LockedHolders {
  tenant: Holder;
  tenantStatus: string;
  groups: (Holder & { id: string; mode: QuotaMode })[];
  user: (Holder & { id: string }) | undefined;
  instanceSet: (Holder & { id: string }) | undefined;
}

/**
 * Locks the holder rows in one fixed order — tenant, groups by id, user, instance set — so that
 * concurrent reservations serialise per tenant and never deadlock. FOR NO KEY UPDATE, not FOR
 * UPDATE, so inserts referencing these rows (foreign keys take KEY SHARE) are not blocked.
 */
async function lockHolders(trx: Knex.Transaction, req: QuotaRequest): Promise<LockedHolders> {
  const tenant = await trx("tenants")
    .where("id", req.tenantId)
    .whereNull("deleted_at")
    .forNoKeyUpdate()
    .first("id", "quota_config", "status");
  if (!tenant) throw new NotFoundError("tenant", req.tenantId);
  let groups: LockedHolders["groups"] = [];
  let user: LockedHolders["user"];
  if (req.userId) {
    const owner = await trx("users").where("id", req.userId).whereNull("deleted_at").first("id", "tenant_id");
    if (!owner || owner.tenant_id !== req.tenantId) throw new NotFoundError("user", req.userId);
    const groupIds = await groupsAboveUser(trx, req.userId);
    if (groupIds.length > 0) {
      const rows = await trx("user_groups")
        .whereIn("id", groupIds)
        .whereIn("quota_mode", ["shared", "hybrid"])
        .whereNull("deleted_at")
        .orderBy("id")
        .forNoKeyUpdate()
        .select("id", "quota_mode", "quota_config");
      groups = rows.map((g: { id: string; quota_mode: QuotaMode; quota_config: unknown }) => ({
        id: g.id,
        mode: g.quota_mode,
        holderType: "group",
        holderId: g.id,
        limits: limitsFromConfig(g.quota_config),
      }));
    }
    const locked = await trx("users").where("id", req.userId).forNoKeyUpdate().first("id", "quota_config");
    user = { id: locked.id, holderType: "user", holderId: locked.id, limits: limitsFromConfig(locked.quota_config) };
  }
  let instanceSet: LockedHolders["instanceSet"];
  if (req.instanceSetId) {
    const row = await trx("instance_set_quotas")
      .where("instance_set_id", req.instanceSetId)
      .forNoKeyUpdate()
      .first("instance_set_id", "tenant_id", "quota_config");
    if (row && row.tenant_id !== req.tenantId) throw new NotFoundError("instance set", req.instanceSetId);
    // An instance set without a quota row has no limits (the quota is optional, 000 §10.4.2 step 4).
    instanceSet = {
      id: req.instanceSetId,
      holderType: "instance_set",
      holderId: req.instanceSetId,
      limits: row ? limitsFromConfig(row.quota_config) : {},
    };
  }
  return {
    tenant: { holderType: "tenant", holderId: tenant.id, limits: limitsFromConfig(tenant.quota_config) },
    tenantStatus: tenant.status,
    groups,
    user,
    instanceSet,
  };
}

function positivePart(r: Resources): Resources {
  const out = zeroResources();
  for (const d of DIMENSIONS) out[d] = Math.max(0, r[d]);
  return out;
}

/**
 * Compares one holder's use plus the increase with its limits. A holder already above a limit
 * (after the limit was lowered, 000 §10.5 option 2) may take nothing new in any dimension.
 */
function exceededAt(holder: Holder, used: Resources, increase: Resources, increasing: boolean): ExceededDimension[] {
  const out: ExceededDimension[] = [];
  for (const d of DIMENSIONS) {
    const limit = holder.limits[d];
    if (limit === undefined) continue;
    const over = increase[d] > 0 && round3(used[d] + increase[d]) > limit;
    const alreadyOver = increasing && used[d] > limit;
    if (over || alreadyOver)
      out.push({
        dimension: d,
        used: used[d],
        requested: increase[d],
        limit,
        holderType: holder.holderType,
        holderId: holder.holderId,
      });
  }
  return out;
}

function validateRequest(req: QuotaRequest): void {
  if (!req.consumer.id) throw new InvalidArgumentError("consumer.id", "must not be empty");
  if (req.consumer.type !== "instance" && req.consumer.type !== "private_data_disk") {
    throw new InvalidArgumentError(
      "consumer.type",
      `must be instance or private_data_disk, got ${String(req.consumer.type)}`,
    );
  }
  if (!req.tenantId) throw new InvalidArgumentError("tenantId", "must not be empty");
}

/**
 * Locks the holders and decides whether the consumer may move to `req.state` with `req.resources`,
 * checking tenant → groups (shared, hybrid) → user → instance set. Writes nothing; call inside the
 * caller's transaction (reserve() does both).
 */
export async function checkQuota(trx: Knex.Transaction, req: QuotaRequest): Promise<QuotaVerdict> {
  validateRequest(req);
  const resources = normalizeResources(req.resources);
  const occupied = occupancy(req.consumer.type, req.state, resources, req.options);
  const holders = await lockHolders(trx, req);
  const previous = await trx("quota_consumers")
    .where({ consumer_type: req.consumer.type, consumer_id: req.consumer.id })
    .first();
  if (previous && previous.tenant_id !== req.tenantId)
    throw new InvalidArgumentError("tenantId", `consumer ${req.consumer.id} belongs to another tenant`);
  const before = zeroResources();
  if (previous) for (const d of DIMENSIONS) before[d] = Number(previous[`occ_${d}`]);
  const delta = subtractResources(occupied, before);
  const increase = positivePart(delta);
  const increasing = DIMENSIONS.some((d) => increase[d] > 0);

  // An inactive or suspended tenant is frozen (000 §4.1): it may release but not take more.
  if (increasing && holders.tenantStatus !== "active") {
    throw new FailedPreconditionError(
      `Cannot reserve quota for ${req.consumer.type} ${req.consumer.id}: tenant ${req.tenantId} is ${holders.tenantStatus}`,
      {
        reason: "TENANT_NOT_ACTIVE",
        metadata: { tenant_id: req.tenantId, status: holders.tenantStatus },
      },
    );
  }
  const exceeded: ExceededDimension[] = [];
  exceeded.push(...exceededAt(holders.tenant, await ledgerUsage(trx, "tenant", req.tenantId), increase, increasing));
  const userUsed = holders.user ? await ledgerUsage(trx, "user", holders.user.id) : zeroResources();
  const inHybrid = holders.groups.some((g) => g.mode === "hybrid");
  for (const g of holders.groups) {
    const used = await groupUsage(trx, g.id, g.mode);
    if (g.mode === "shared") {
      exceeded.push(...exceededAt(g, used, increase, increasing));
    } else {
      // Hybrid: the user spends its own quota first and borrows only the overflow from the group.
      const limits = holders.user?.limits ?? {};
      const borrowInc = positivePart(
        subtractResources(borrowed(addResources(userUsed, delta), limits), borrowed(userUsed, limits)),
      );
      exceeded.push(...exceededAt(g, used, borrowInc, increasing));
    }
  }
  // In a hybrid group the user's own limit is a base, not a ceiling: the group check above covers it.
  if (holders.user && !inHybrid) exceeded.push(...exceededAt(holders.user, userUsed, increase, increasing));
  if (holders.instanceSet)
    exceeded.push(
      ...exceededAt(
        holders.instanceSet,
        await ledgerUsage(trx, "instance_set", holders.instanceSet.id),
        increase,
        increasing,
      ),
    );
  return { allowed: exceeded.length === 0, exceeded, occupied, delta };
}

export function describeExceeded(exceeded: readonly ExceededDimension[]): string {
  return exceeded
    .map(
      (e) =>
        `${e.holderType} ${e.holderId} ${e.dimension} used ${e.used} + requested ${e.requested} > limit ${e.limit}`,
    )
    .join("; ");
}

/**
 * Checks and records what the consumer occupies in its new state, in the caller's transaction.
 * Refuses with ResourceExhaustedError listing every exceeded dimension; shrinking is always allowed.
 */
export async function reserve(trx: Knex.Transaction, req: QuotaRequest): Promise<QuotaVerdict> {
  const verdict = await checkQuota(trx, req);
  if (!verdict.allowed)
    throw new ResourceExhaustedError(
      `Quota exceeded for ${req.consumer.type} ${req.consumer.id}: ${describeExceeded(verdict.exceeded)}`,
      {
        reason: "QUOTA_EXCEEDED",
        exceeded: verdict.exceeded,
      },
    );
  const key = { consumer_type: req.consumer.type, consumer_id: req.consumer.id };
  if (DIMENSIONS.every((d) => verdict.occupied[d] === 0) && req.state === "deleted") {
    await trx("quota_consumers").where(key).delete();
    return verdict;
  }
  const row: Record<string, unknown> = {
    ...key,
    tenant_id: req.tenantId,
    user_id: req.userId,
    instance_set_id: req.instanceSetId ?? null,
    state: req.state,
    resources: JSON.stringify(normalizeResources(req.resources)),
    updated_at: trx.fn.now(),
  };
  for (const d of DIMENSIONS) row[`occ_${d}`] = verdict.occupied[d];
  await trx("quota_consumers").insert(row).onConflict(["consumer_type", "consumer_id"]).merge();
  return verdict;
}

/** Releases everything a consumer holds (its object is gone). Needs no lock: releasing never exceeds. */
export async function release(trx: Knex.Transaction, consumer: { type: ConsumerType; id: string }): Promise<void> {
  await trx("quota_consumers").where({ consumer_type: consumer.type, consumer_id: consumer.id }).delete();
}
