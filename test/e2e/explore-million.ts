/**
 * A 1M-cell SLAF dataset for the Explore view's scale check, resampled from the real PBMC 3k cells: cell i is real
 * cell i % 160 (its cell type, its UMAP position plus a small deterministic jitter) and keeps every 64th of that
 * cell's stored values, and always its LYZ value (≈ 15M expression rows instead of 950M). Columns are built from
 * typed arrays, never from a million JS values.
 */
import { arrow } from "../../main/services/arrow";
import { SlafWriter } from "../../main/services/convert/slaf-writer";
import { loadPbmc } from "../fixtures/pbmc";

const KEEP_EVERY = 64;

/** A Utf8 vector whose i-th string is at(i) (offsets and bytes written directly). */
function utf8(n: number, at: (i: number) => string) {
  const { makeData, makeVector, Utf8 } = arrow;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets = new Int32Array(n + 1);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const b = encoder.encode(at(i));
    parts.push(b);
    size += b.length;
    offsets[i + 1] = size;
  }
  const data = new Uint8Array(size);
  for (let i = 0; i < n; i++) data.set(parts[i], offsets[i]);
  return makeVector(makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data }));
}

/** Two uniform hashes of `i` summed (a soft bump), in about [-0.6, 0.6]. */
function jitter(i: number): number {
  const u = (k: number): number => {
    let h = Math.imul(k ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
  };
  return (u(2 * i) + u(2 * i + 1) - 1) * 0.6;
}

export interface MillionFacts {
  nCells: number;
  /** Cells with a stored LYZ value > 0. */
  lyzExpressing: number;
  /** Rows of the expression table. */
  expressionRows: number;
}

export async function writeMillionCells(root: string, nCells = 1_000_000): Promise<MillionFacts> {
  const pbmc = loadPbmc();
  const { makeData, makeVector, Table, Int64, Float32, FixedSizeList, Field } = arrow;
  const lyz = pbmc.genes.indexOf("LYZ");
  const typeCol = pbmc.obsColumns.indexOf("cell_type");
  const u1 = pbmc.obsColumns.indexOf("UMAP_1");

  // Which stored values each real cell keeps.
  const kept = pbmc.cells.map((cell, c) => {
    const genes: number[] = [];
    const values: number[] = [];
    cell.genes.forEach((g, k) => {
      if (g === lyz || (k + c) % KEEP_EVERY === 0) {
        genes.push(g);
        values.push(cell.values[k]);
      }
    });
    return { genes: Uint16Array.from(genes), values: Uint16Array.from(values) };
  });
  const lyzExpressingReal = pbmc.cells.map((cell) => cell.genes.some((g, k) => g === lyz && cell.values[k] > 0));

  const writer = await SlafWriter.create(root, { valueType: "uint16", nGenes: pbmc.nGenes, nCells });
  const starts = new BigInt64Array(nCells);
  const ids = new BigInt64Array(nCells);
  const umap = new Float32Array(2 * nCells);
  let acc = 0n;
  let lyzExpressing = 0;
  for (let c = 0; c < nCells; c++) {
    const real = c % pbmc.nCells;
    starts[c] = acc;
    acc += BigInt(kept[real].genes.length);
    ids[c] = BigInt(c);
    // A cloud of about ±0.6 UMAP units around the real cell, from a hash of the index (the same every run).
    umap[2 * c] = (pbmc.obs[real][u1] as number) + jitter(2 * c);
    umap[2 * c + 1] = (pbmc.obs[real][u1 + 1] as number) + jitter(2 * c + 1);
    if (lyzExpressingReal[real]) lyzExpressing++;
  }
  const umapType = new FixedSizeList(2, new Field("item", new Float32(), true));
  const cells = new Table({
    cell_id: utf8(nCells, (i) => `c${String(i).padStart(7, "0")}`),
    cell_type: utf8(nCells, (i) => String(pbmc.obs[i % pbmc.nCells][typeCol])),
    cell_integer_id: makeVector(makeData({ type: new Int64(), length: nCells, nullCount: 0, data: ids })),
    cell_start_index: makeVector(makeData({ type: new Int64(), length: nCells, nullCount: 0, data: starts })),
    X_umap: makeVector(
      makeData({ type: umapType, length: nCells, nullCount: 0, child: makeData({ type: new Float32(), length: 2 * nCells, nullCount: 0, data: umap }) }),
    ),
  });
  await writer.writeTable("cells", cells as never);
  const { vectorFromArray, Utf8 } = arrow;
  await writer.writeTable(
    "genes",
    new Table({
      gene_id: vectorFromArray(pbmc.genes, new Utf8()),
      gene_integer_id: makeVector(
        makeData({ type: new Int64(), length: pbmc.nGenes, nullCount: 0, data: BigInt64Array.from(pbmc.genes, (_, g) => BigInt(g)) }),
      ),
    }) as never,
  );

  const CHUNK = 50_000;
  for (let c0 = 0; c0 < nCells; c0 += CHUNK) {
    const c1 = Math.min(nCells, c0 + CHUNK);
    let n = 0;
    for (let c = c0; c < c1; c++) n += kept[c % pbmc.nCells].genes.length;
    const cell = new Uint32Array(n);
    const gene = new Uint16Array(n);
    const value = new Uint16Array(n);
    let at = 0;
    for (let c = c0; c < c1; c++) {
      const k = kept[c % pbmc.nCells];
      cell.fill(c, at, at + k.genes.length);
      gene.set(k.genes, at);
      value.set(k.values, at);
      at += k.genes.length;
    }
    await writer.appendExpression({ cell, gene, value });
  }
  await writer.finish({
    nCells,
    nGenes: pbmc.nGenes,
    extra: { obsm: { available: ["X_umap"], immutable: ["X_umap"], mutable: [], dimensions: { X_umap: 2 } } },
  });
  return { nCells, lyzExpressing, expressionRows: Number(acc) };
}
