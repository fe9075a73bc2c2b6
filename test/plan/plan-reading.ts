import type { Knex } from "knex";

/** What one statement's plan read, from EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON). */
export interface PlanReading {
  sql: string;
  /** Rows the scan nodes produced or threw away (filter, index recheck), times their loops. */
  read: number;
  /** Rows the statement returned. */
  returned: number;
  /** Shared buffers hit + read by the whole plan. */
  buffers: number;
  /** With `unpaged`: rows the statement returns without its LIMIT (a search's matches). */
  matches?: number;
}

/**
 * Tables whose filtered lists may walk the whole table, and why. Keep this short: a table listed
 * here is no longer held to its answers.
 */
export const WHOLE_TABLE_ALLOWED: Readonly<Record<string, { rows: number; why: string }>> = {
  images: {
    rows: 10_000,
    why: "the catalog holds thousands of items; its enum filters (type, visibility, status, OS) walk the id order rather than carry an index each",
  },
  templates: {
    rows: 10_000,
    why: "as images: use case, type, visibility, status, listed and base image filter the id-ordered walk",
  },
};

/**
 * Rows a statement may read for `returned` rows: 20 per row returned (and per page probe row),
 * plus a small constant for tiny tables; a statement on a WHOLE_TABLE_ALLOWED table may read that
 * table's stated ceiling.
 */
export function readBound(returned: number, sql = ""): number {
  const base = 20 * (returned + 1) + 300;
  const from = /\bfrom\s+"?(\w+)"?/i.exec(sql)?.[1];
  const allowed = from ? WHOLE_TABLE_ALLOWED[from] : undefined;
  return allowed ? Math.max(base, allowed.rows) : base;
}

const SCANS = new Set([
  "Seq Scan",
  "Index Scan",
  "Index Only Scan",
  "Bitmap Index Scan",
  "Bitmap Heap Scan",
  "Tid Scan",
  "Tid Range Scan",
]);

interface PlanNode {
  "Node Type": string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  "Rows Removed by Join Filter"?: number;
  "Shared Hit Blocks"?: number;
  "Shared Read Blocks"?: number;
  Plans?: PlanNode[];
}

function rowsRead(node: PlanNode): number {
  const loops = node["Actual Loops"] ?? 1;
  const own = SCANS.has(node["Node Type"])
    ? ((node["Actual Rows"] ?? 0) +
        (node["Rows Removed by Filter"] ?? 0) +
        (node["Rows Removed by Index Recheck"] ?? 0)) *
      loops
    : (node["Rows Removed by Join Filter"] ?? 0) * loops;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child), 0);
}

function planOf(rows: Record<string, unknown>[]): PlanNode {
  const cell = Object.values(rows[0]!)[0];
  return ((typeof cell === "string" ? JSON.parse(cell) : cell) as { Plan: PlanNode }[])[0]!.Plan;
}

/** Runs each captured statement again under EXPLAIN ANALYZE, on a connection of the hub's own pool. */
export async function explainCaptured(
  knex: Knex,
  statements: readonly { sql: string; bindings: readonly unknown[] }[],
  options: { unpaged?: boolean } = {},
): Promise<PlanReading[]> {
  const client = knex.client as {
    acquireConnection(): Promise<unknown>;
    releaseConnection(c: unknown): Promise<unknown>;
  };
  const conn = (await client.acquireConnection()) as {
    query(sql: string, params: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  };
  try {
    const readings: PlanReading[] = [];
    for (const s of statements) {
      const res = await conn.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${s.sql}`, [...s.bindings]);
      const plan = planOf(res.rows);
      const reading: PlanReading = {
        sql: s.sql,
        read: rowsRead(plan),
        returned: (plan["Actual Rows"] ?? 0) * (plan["Actual Loops"] ?? 1),
        buffers: (plan["Shared Hit Blocks"] ?? 0) + (plan["Shared Read Blocks"] ?? 0),
      };
      // The same statement with its trailing `limit $n` lifted: how many rows match at all.
      const limit = /\blimit \$(\d+)\s*$/i.exec(s.sql);
      if (options.unpaged && limit) {
        const bindings = [...s.bindings];
        bindings[Number(limit[1]) - 1] = 1_000_000_000;
        const all = planOf((await conn.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.sql}`, bindings)).rows);
        reading.matches = (all["Actual Rows"] ?? 0) * (all["Actual Loops"] ?? 1);
      }
      readings.push(reading);
    }
    return readings;
  } finally {
    await client.releaseConnection(conn);
  }
}
