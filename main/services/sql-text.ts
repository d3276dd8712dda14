/** SQL text the app writes itself: quoted identifiers and string literals (DuckDB's dialect; Lance's strings are the same). */

/** An identifier, always double-quoted: safe for any name. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.table`, both quoted. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** Words that cannot stand as bare column names in the queries the app writes for people to read. */
const RESERVED = new Set([
  "all",
  "and",
  "as",
  "by",
  "case",
  "select",
  "from",
  "where",
  "group",
  "order",
  "limit",
  "table",
  "join",
  "on",
  "to",
  "with",
  "union",
  "user",
]);

/** An identifier as a person would write it: bare when it is a plain lower-risk name, else double-quoted (DuckDB folds case of bare names). */
export function readableIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name.toLowerCase()) ? name : quoteIdent(name);
}

/** A single-quoted string literal. */
export function stringLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
