/**
 * Rows a `knex.raw` statement touched. knex.raw hands back the driver's own result; pg and
 * PGlite both carry `rowCount` (PGlite also `affectedRows`). Raw SQL is used where the query
 * builder's return value differs between the two drivers (a DELETE with a subquery on PGlite).
 */
export function affectedRows(result: unknown): number {
  const r = result as { rowCount?: number | null; affectedRows?: number };
  return Number(r.rowCount ?? r.affectedRows ?? 0);
}
