/**
 * Builds a gene index into a folder of ours: a SHALLOW clone of the source expression table at the version the
 * dataset is open at (a new manifest whose data files stay the source's: nothing is copied, nothing is written
 * to the source) and a scalar index on the clone's `gene_integer_id`, so `gene_integer_id = X` reads only the
 * matching rows' pages instead of the whole column.
 *
 * Bitmap, not btree (200k cells / 138M rows, busy 2-core machine: bitmap 35 s, 330 MB, reads 35–106 ms; btree
 * 27 s, 674 MB, reads 63–160 ms; the plain filtered read 554–878 ms). A bitmap per gene suits ~10⁴ distinct
 * values over 10⁸–10⁹ rows.
 *
 * The index is built as a LanceDB in-process job so a cancelled build stops at once (its Job.cancel), instead of
 * running to the end inside Lance.
 */
import * as lancedb from "@lancedb/lancedb";
import { AppFailure, isAppFailure } from "../../../shared/result";
import { fail, isDiskFull, throwIfAborted } from "../errors";
import { GENE_INDEX_TABLE } from "./gene-index-store";

export const GENE_INDEX_COLUMN = "gene_integer_id";

/** What went wrong while writing into `folder`, named (DISK_FULL, PERMISSION_DENIED), or the error as it was. */
function named(e: unknown, folder: string): unknown {
  if (isAppFailure(e)) return e;
  const text = e instanceof Error ? e.message : String(e);
  const code = (e as NodeJS.ErrnoException)?.code;
  if (isDiskFull(e)) return new AppFailure("DISK_FULL", `No space left on device while building the gene index in ${folder}`, { path: folder });
  if (
    code === "EACCES" ||
    code === "EPERM" ||
    code === "EROFS" ||
    code === "ENOTDIR" ||
    code === "EEXIST" ||
    /permission denied|read-only file system|not a directory/i.test(text)
  )
    return new AppFailure("PERMISSION_DENIED", `Cannot write the gene index in ${folder}: ${code ?? text.split("\n")[0]}`, { path: folder });
  return e;
}

/** Rethrows `e` named for the gene index folder (so the job fails with DISK_FULL / PERMISSION_DENIED). */
export function throwNamed(e: unknown, folder: string): never {
  throw named(e, folder);
}

/** Clones `sourcePath` at `version` into `folder` and indexes `gene_integer_id`; resolves when the index is complete. */
export async function buildCloneWithIndex(folder: string, sourcePath: string, version: number, signal: AbortSignal): Promise<void> {
  let db: lancedb.Connection | null = null;
  let clone: lancedb.Table | null = null;
  try {
    db = await lancedb.connect(folder);
    clone = await db.cloneTable(GENE_INDEX_TABLE, sourcePath, { isShallow: true, sourceVersion: version });
    throwIfAborted(signal, "EXPLORE_CANCELLED");
    const job = await clone.createIndexAsync(GENE_INDEX_COLUMN, { config: lancedb.Index.bitmap() });
    const cancel = () => void job.cancel().catch(() => undefined);
    signal.addEventListener("abort", cancel, { once: true });
    if (signal.aborted) cancel();
    try {
      await job.wait();
    } finally {
      signal.removeEventListener("abort", cancel);
    }
    throwIfAborted(signal, "EXPLORE_CANCELLED");
    const indices = await clone.listIndices();
    if (!indices.some((i) => i.columns.includes(GENE_INDEX_COLUMN)))
      fail("INTERNAL", `The gene index on ${GENE_INDEX_COLUMN} is missing after its build in ${folder}`);
  } catch (e) {
    throwIfAborted(signal, "EXPLORE_CANCELLED");
    throwNamed(e, folder);
  } finally {
    clone?.close();
    db?.close();
  }
}
