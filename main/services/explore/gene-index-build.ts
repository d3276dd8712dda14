/**
 * Builds a gene index into a folder of ours: a SHALLOW clone of the source expression table at the version the
 * dataset is open at (a new manifest whose data files stay the source's: nothing is copied, nothing is written
 * to the source) and a scalar index on the clone's `gene_integer_id`, so `gene_integer_id = X` reads only the
 * matching rows' pages instead of the whole column.
 *
 * Bitmap or btree, measured on a busy 2-core machine (load 3–8), reads of one gene's rows:
 *
 *   200k cells, 138M rows   bitmap 35–60 s, 330 MB on disk, peak RSS 1.7 GB, reads 35–106 ms (LYZ 0.3–0.4 s)
 *                           btree  27–39 s, 674 MB on disk, peak RSS 0.33 GB, reads 63–160 ms
 *                           no index: 0.55–0.88 s (LYZ 1.4 s)
 *   1M cells, 691M rows     bitmap 379 s, 1.62 GB, peak RSS ≥ 7 GB, reads 0.29–0.68 s (LYZ 0.97–1.43 s)
 *                           btree  339 s, 3.56 GB, RSS ~0.4 GB, reads 0.31–0.90 s (LYZ 1.29–1.62 s)
 *                           no index: 3.2–4.6 s (LYZ 4.8 s)
 *
 * Through the app on the 1M-cell dataset (`npm run bench explore`, load 4–6): LYZ cold with a bitmap 1.13 s, with
 * a btree 1.74 s (goal 1.5 s); build 270 s vs 121 s; peak RSS of the process 7.6 GB vs 0.75 GB.
 *
 * The bitmap is half the size and reads faster, but Lance builds it in memory (~11 B per row),
 * while the btree sorts out of core. So: bitmap while that fits in 40 % of the machine's memory and 60 % of what
 * is available now (the 1M-cell dataset: yes with 23 GB, no with 16 GB), else btree. Either kind built earlier is used (gene-index.ts looks for both).
 *
 * This runs in the build process (gene-index-child-entry.ts), never in the app's: if that memory runs out, only
 * the build dies. Cancel is SIGTERM to that process.
 */
import os from "node:os";
import * as lancedb from "@lancedb/lancedb";
import { AppFailure, isAppFailure } from "../../../shared/result";
import { fail, isDiskFull, throwIfAborted } from "../errors";
import { GENE_INDEX_TABLE } from "./gene-index-store";

export const GENE_INDEX_COLUMN = "gene_integer_id";

export type GeneIndexKind = "bitmap" | "btree";

/** Peak memory of Lance's bitmap build per expression row (measured: 1.7 GB for 138M rows, 7.6 GB for 691M). */
const BITMAP_BUILD_BYTES_PER_ROW = 12;

export function geneIndexKind(rows: number, totalMemory = os.totalmem(), availableMemory = os.freemem()): GeneIndexKind {
  return rows * BITMAP_BUILD_BYTES_PER_ROW <= Math.min(totalMemory * 0.4, availableMemory * 0.6) ? "bitmap" : "btree";
}

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
export async function buildCloneWithIndex(
  folder: string,
  sourcePath: string,
  version: number,
  kind: GeneIndexKind,
  signal: AbortSignal,
  onIndexing?: () => void,
): Promise<void> {
  let db: lancedb.Connection | null = null;
  let clone: lancedb.Table | null = null;
  try {
    db = await lancedb.connect(folder);
    clone = await db.cloneTable(GENE_INDEX_TABLE, sourcePath, { isShallow: true, sourceVersion: version });
    throwIfAborted(signal, "EXPLORE_CANCELLED");
    onIndexing?.();
    const job = await clone.createIndexAsync(GENE_INDEX_COLUMN, { config: kind === "bitmap" ? lancedb.Index.bitmap() : lancedb.Index.btree() });
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
