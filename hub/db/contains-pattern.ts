import type { Knex } from "knex";

/** `text` as a LIKE pattern matching it anywhere: `%`, `_` and `\` escaped (LIKE's default escape is `\`). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Case-insensitive substring filter `lower(column) LIKE lower('%text%')`: the shape the pg_trgm GIN
 * indexes on `lower(column)` serve (migrations 20261130…), so a rare substring reads its matches,
 * not the table. Fewer than 3 characters make no trigram and scan (documented in the API READMEs).
 */
export function whereContains(query: Knex.QueryBuilder, column: string, text: string): Knex.QueryBuilder {
  return query.whereRaw(`lower(??) LIKE lower(?)`, [column, containsPattern(text)]);
}
