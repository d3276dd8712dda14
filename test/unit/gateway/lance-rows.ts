/** Rows of a Lance table as the pin and cache tests compare them. */

/** Rows as JSON lines (bigints as strings). */
export function plainRows(rows: unknown[]): string[] {
  return rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
}

/**
 * All rows of a table (some columns), read with a fresh connection and session: nothing from memory. LanceDB is
 * loaded on first use, so a test file can set HF_ENDPOINT before it (LanceDB reads it at its first hf:// connect).
 */
export async function freshRows(root: string, table: string, opts: { columns?: string[]; storageOptions?: Record<string, string> } = {}): Promise<string[]> {
  const lancedb = await import("@lancedb/lancedb");
  const db = await lancedb.connect(root, opts.storageOptions ? { storageOptions: opts.storageOptions } : undefined, new lancedb.Session());
  try {
    const t = await db.openTable(table);
    return plainRows(await (opts.columns ? t.query().select(opts.columns) : t.query()).toArray());
  } finally {
    db.close();
  }
}
