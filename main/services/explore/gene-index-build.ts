/**
 * Builds a gene index (gene-index-files.ts) into a build folder of ours from the source expression table at the
 * version the dataset is open at (read only: nothing is written to the source). Two streaming reads:
 *
 *   1. count   the gene column only: rows per gene → offsets, and the files sized to them;
 *   2. scatter every row into its gene's staging buffer (a share of `stagingBytes` proportional to the gene's
 *              rows, so they fill at about the same pace), each full buffer written at its place in `cells` and
 *              `values` with positioned writes. Memory: the staging bytes, counts and one scan batch, whatever
 *              the table's size; writes ≈ 2 × genes × rows / staged rows.
 *
 * SLAF stores rows cell-major, so each gene's cells arrive ascending: that is checked row by row, and a table
 * that breaks it fails the build (named) and gene reads stay on the source.
 *
 * The files are fsynced before the app renames the folder into place.
 *
 * Measured on the 1M-cell bench dataset (691M rows, 8,674 genes; `npm run bench explore`, 2 cores at load 7–9):
 * build 63–106 s (v1's bitmap clone: 175–379 s), peak RSS 0.50–0.53 GB (v1: 7.6 GB), 533k positioned writes,
 * 4.14 GB on disk (Uint16 values); LYZ (547k rows) cold through it 0.09–0.12 s after the first points page,
 * 3.4 MB read (the plain filtered read: 2.8–4.0 s, 1.9 GB read).
 *
 * This runs in the build process (gene-index-child-entry.ts), never in the app's; cancel is SIGTERM to it.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import path from "node:path";
import type { arrow } from "../arrow";
import { AppFailure, isAppFailure } from "../../../shared/result";
import { fail, isDiskFull } from "../errors";
import { openLanceTable } from "../datasets/lance-table";
import { columnNumbers } from "./arrow-read";
import type { ChildPhase, ChildStart } from "./gene-index-child-protocol";
import { CELL_BYTES, CELLS_FILE, OFFSETS_FILE, VALUE_TYPES, VALUES_FILE, valueTypeOf, type ValueArray } from "./gene-index-files";
import { scanBatches } from "./lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

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

export interface BuildStats {
  rows: number;
  /** Positioned writes of the scatter pass. */
  writes: number;
}

const unsupported = (what: string): never =>
  fail("EXPLORE_DATASET_UNSUPPORTED", `${what}: no gene index can be built for this table; gene reads use the source table`);

/** Writes all of `bytes` at `position` of `fd`. */
function writeAll(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): void {
  while (length > 0) {
    const n = writeSync(fd, bytes, offset, length, position);
    offset += n;
    length -= n;
    position += n;
  }
}

/** Each gene's share of `stagedRows` (at least `floor` rows, at most its own rows). */
function stagingCapacities(counts: Float64Array, rows: number, stagedRows: number): Int32Array {
  const genesWithRows = counts.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  const floor = Math.max(1, Math.min(256, Math.floor(stagedRows / Math.max(1, genesWithRows))));
  const caps = new Int32Array(counts.length);
  for (let g = 0; g < counts.length; g++) caps[g] = Math.min(counts[g], Math.max(floor, Math.floor((counts[g] * stagedRows) / Math.max(1, rows))));
  return caps;
}

export async function buildGeneIndex(start: ChildStart, onProgress: (phase: ChildPhase, rows: number) => void): Promise<BuildStats> {
  const { nGenes, tmpDir } = start;
  const { db, table } = await openLanceTable(start.srcUri);
  const fds: number[] = [];
  try {
    await table.checkout(start.version);
    const field = (await table.schema()).fields.find((f) => f.name === "value");
    if (!field) unsupported("The expression table has no value column");
    if (valueTypeOf(field!.type) !== start.valueType) fail("INTERNAL", `The expression table's value type is not ${start.valueType} any more`);
    const Values = VALUE_TYPES[start.valueType];
    const integerValues = start.valueType !== "float32" && start.valueType !== "float64";
    const every = 1 << 22;

    // 1. Rows per gene.
    const counts = new Float64Array(nGenes);
    let rows = 0;
    for await (const batch of scanBatches(table, ["gene_integer_id"])) {
      const genes = columnNumbers(batch.getChild("gene_integer_id") as Vector);
      for (let r = 0; r < genes.length; r++) {
        const g = genes[r];
        if (!(g >= 0 && g < nGenes && Number.isInteger(g)))
          unsupported(`An expression row's gene_integer_id ${g} is outside the genes table (0–${nGenes - 1})`);
        counts[g]++;
      }
      if (Math.floor((rows + genes.length) / every) !== Math.floor(rows / every)) onProgress("count", rows + genes.length);
      rows += genes.length;
    }
    onProgress("count", rows);

    const offsets = new Float64Array(nGenes + 1);
    for (let g = 0; g < nGenes; g++) offsets[g + 1] = offsets[g] + counts[g];
    try {
      for (const [name, bytes] of [
        [OFFSETS_FILE, offsets.byteLength],
        [CELLS_FILE, rows * CELL_BYTES],
        [VALUES_FILE, rows * Values.BYTES_PER_ELEMENT],
      ] as const) {
        const fd = openSync(path.join(tmpDir, name), "w");
        fds.push(fd);
        ftruncateSync(fd, bytes);
      }
      writeAll(fds[0], new Uint8Array(offsets.buffer), 0, offsets.byteLength, 0);
    } catch (e) {
      throwNamed(e, tmpDir);
    }
    const [, cellsFd, valuesFd] = fds;

    // 2. Scatter into per-gene staging buffers, flushed to their place when full.
    const stagedRows = Math.max(1, Math.floor(start.stagingBytes / 2 / (CELL_BYTES + Values.BYTES_PER_ELEMENT)));
    const caps = stagingCapacities(counts, rows, stagedRows);
    const stageAt = new Float64Array(nGenes + 1);
    for (let g = 0; g < nGenes; g++) stageAt[g + 1] = stageAt[g] + caps[g];
    const stageCells = new Uint32Array(stageAt[nGenes]);
    const stageValues: ValueArray = new Values(stageAt[nGenes]);
    const cellBytes = new Uint8Array(stageCells.buffer);
    const valueBytes = new Uint8Array(stageValues.buffer);
    const vb = Values.BYTES_PER_ELEMENT;
    const fill = new Int32Array(nGenes);
    const written = new Float64Array(nGenes);
    const last = new Float64Array(nGenes).fill(-1);
    let writes = 0;
    const flush = (g: number) => {
      const n = fill[g];
      const at = offsets[g] + written[g];
      if (written[g] + n > counts[g]) fail("INTERNAL", `Gene ${g} has more rows in the second read than in the first`);
      try {
        writeAll(cellsFd, cellBytes, stageAt[g] * CELL_BYTES, n * CELL_BYTES, at * CELL_BYTES);
        writeAll(valuesFd, valueBytes, stageAt[g] * vb, n * vb, at * vb);
      } catch (e) {
        throwNamed(e, tmpDir);
      }
      writes += 2;
      written[g] += n;
      fill[g] = 0;
    };

    let done = 0;
    for await (const batch of scanBatches(table, ["cell_integer_id", "gene_integer_id", "value"])) {
      const cells = columnNumbers(batch.getChild("cell_integer_id") as Vector);
      const genes = columnNumbers(batch.getChild("gene_integer_id") as Vector);
      const valueColumn = batch.getChild("value") as Vector;
      if (integerValues && valueColumn.nullCount > 0) unsupported("The expression table has null values");
      const values = columnNumbers(valueColumn);
      for (let r = 0; r < cells.length; r++) {
        const g = genes[r];
        const c = cells[r];
        if (!(g >= 0 && g < nGenes && Number.isInteger(g)))
          unsupported(`An expression row's gene_integer_id ${g} is outside the genes table (0–${nGenes - 1})`);
        if (!(c >= 0 && c <= 0xffffffff && Number.isInteger(c))) unsupported(`An expression row's cell_integer_id ${c} is not a cell id`);
        if (c < last[g]) unsupported(`Expression rows are not in cell order (gene ${g}: cell ${c} after cell ${last[g]})`);
        last[g] = c;
        const p = stageAt[g] + fill[g];
        stageCells[p] = c;
        stageValues[p] = values[r];
        if (++fill[g] === caps[g]) flush(g);
      }
      if (Math.floor((done + cells.length) / every) !== Math.floor(done / every)) onProgress("scatter", done + cells.length);
      done += cells.length;
    }
    for (let g = 0; g < nGenes; g++) if (fill[g] > 0) flush(g);
    for (let g = 0; g < nGenes; g++)
      if (written[g] !== counts[g]) fail("INTERNAL", `Gene ${g} has ${written[g]} rows in the second read and ${counts[g]} in the first`);
    try {
      // On disk before the app renames the folder into place: a crash after that must not leave zeros behind a meta.
      for (const fd of fds) fsyncSync(fd);
    } catch (e) {
      throwNamed(e, tmpDir);
    }
    onProgress("scatter", done);
    return { rows, writes };
  } finally {
    for (const fd of fds) closeSync(fd);
    table.close();
    db.close();
  }
}
