import type { Knex } from "knex";

/**
 * Every PostgreSQL advisory-lock key the hub takes, in one registry so two features can never pick
 * the same number by accident (test/db/advisory-lock-keys.test.ts checks they are distinct).
 * Fixed keys are 32-bit ASCII tags; scoped locks hash `namespace:scope` with hashtext().
 */
export const ADVISORY_LOCK_KEYS = Object.freeze({
  /** Schema migrations: one hub migrates at a time ("edge"). */
  migrations: 0x65646765,
  /** First-start work (CA, first admin) ("edgh"). */
  bootstrap: 0x65646768,
  /** Liveness sweep lease ("flt1"). */
  fleetLiveness: 0x666c7431,
  /** Command expiry lease ("flt2"). */
  commandExpiry: 0x666c7432,
  /** Metrics rollup and retention lease ("edmm"). */
  metricsMaintenance: 0x65646d6d,
  /** Instance reconciler lease ("inst"). */
  instanceReconciler: 0x696e7374,
  /** Cloud box binding expiry lease ("cbbx"). */
  cloudBoxBindingExpiry: 0x63626278,
  /** Firmware rollout outcome loop lease ("edfw"). */
  firmwareRollouts: 0x65646677,
  /** Disk and snapshot reconciler lease ("disk"). */
  diskReconciler: 0x6469736b,
  /** Storage pool refresh lease ("pool"). */
  storagePoolRefresh: 0x706f6f6c,
  /** Disk attachment reconciler lease ("atch"). */
  diskAttachments: 0x61746368,
});

/** Namespaces of scoped locks, taken as `pg_advisory_xact_lock(hashtext('<namespace>:<scope>'))`. */
export const SCOPED_LOCK_NAMESPACES = Object.freeze({
  /** Tenant VLAN allocation and the tenant-name check (one scope: "all"). */
  tenantVlans: "edgehub.tenant_vlans",
  /** A tenant's group tree (scope: tenant id). */
  userGroups: "edgehub.user_groups",
  /** Creating a username, hub-wide (scope: the lowercased username). */
  usernames: "edgehub.usernames",
});

type ScopedLockNamespace = (typeof SCOPED_LOCK_NAMESPACES)[keyof typeof SCOPED_LOCK_NAMESPACES];

/** Waits for a transaction-scoped lock on `namespace:scope`; it ends with the transaction. */
export async function lockScope(trx: Knex.Transaction, namespace: ScopedLockNamespace, scope: string): Promise<void> {
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext(?))", [`${namespace}:${scope}`]);
}
