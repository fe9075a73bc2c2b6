import type { Context } from "mocha";

/** In CI (`REQUIRE_REAL_BACKENDS=1`) a missing backend is a failure, never a skip. */
export const realBackendsRequired = process.env.REQUIRE_REAL_BACKENDS === "1";

/**
 * Skips the suite or test loudly when a real backend is missing, or fails it when CI requires
 * every real backend. `what` names the backend and how to get it.
 */
export function skipUnlessBackend(ctx: Context, available: boolean, what: string): void {
  if (available) return;
  const message = `REAL BACKEND MISSING: ${what}`;
  if (realBackendsRequired) throw new Error(`${message} (REQUIRE_REAL_BACKENDS=1 forbids skipping)`);
  process.stderr.write(`\n  !!! SKIPPED — ${message}\n`);
  ctx.skip();
}

/**
 * CI runs the suite twice (PGlite, then PostgreSQL); the suites that drive a real hypervisor or
 * Ceph are about neither database, so they run in the first pass only. The second pass sets
 * EDGEHUB_HEAVY_SUITES=elsewhere and they skip with a line saying so (not a missing backend).
 */
export const heavySuitesElsewhere = process.env.EDGEHUB_HEAVY_SUITES === "elsewhere";

export function skipIfHeavySuitesRunElsewhere(ctx: Context, what: string): void {
  if (!heavySuitesElsewhere) return;
  process.stderr.write(`\n  --- not in this pass: ${what} runs in CI's other pass (EDGEHUB_HEAVY_SUITES=elsewhere)\n`);
  ctx.skip();
}
