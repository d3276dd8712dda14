/**
 * The gene index's files: the expression rows in gene-major order (CSC), outside the dataset.
 *
 *   offsets   Float64 × (nGenes + 1)   gene g's rows are [offsets[g], offsets[g + 1])
 *   cells     Uint32 × rows            cell_integer_id per row, ascending within a gene (as SLAF stores cells)
 *   values    <valueType> × rows       the stored value, in the source column's own type
 *
 * A gene read is two positioned reads (its slice of `cells` and of `values`), summing a (cell, gene) stored
 * twice as readGene does, so the answer equals the filtered read of the source. Opening checks every size
 * against the offsets and the meta; anything inconsistent is a damaged index (null), never a wrong answer.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { arrow } from "../arrow";
import { fail } from "../errors";
import type { GeneRead } from "./gene-values";
import { throwIfCancelled } from "./lance-scan";

export const OFFSETS_FILE = "offsets";
export const CELLS_FILE = "cells";
export const VALUES_FILE = "values";
export const CELL_BYTES = 4;
export const OFFSET_BYTES = 8;

/** Every number columnNumbers can give for a value column, stored exactly (64-bit integers arrive as float64). */
export const VALUE_TYPES = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;
export type ValueType = keyof typeof VALUE_TYPES;
export type ValueArray = InstanceType<(typeof VALUE_TYPES)[ValueType]>;

export const isValueType = (v: unknown): v is ValueType => typeof v === "string" && Object.hasOwn(VALUE_TYPES, v);
export const valueBytes = (t: ValueType): number => VALUE_TYPES[t].BYTES_PER_ELEMENT;

type DataType = InstanceType<typeof arrow.DataType>;

/** The stored type for a value column of this Arrow type (64-bit integers and anything else numeric: float64). */
export function valueTypeOf(type: DataType): ValueType {
  if (arrow.DataType.isInt(type)) {
    const bits = (type as unknown as { bitWidth: number }).bitWidth;
    const signed = (type as unknown as { isSigned: boolean }).isSigned;
    if (bits <= 32) return `${signed ? "int" : "uint"}${bits}` as ValueType;
  }
  if (arrow.DataType.isFloat(type) && (type as unknown as { precision: number }).precision === arrow.Precision.SINGLE) return "float32";
  return "float64";
}

/** Bytes of an index of `rows` rows over `nGenes` genes. */
export function indexBytes(rows: number, nGenes: number, valueType: ValueType): number {
  return (nGenes + 1) * OFFSET_BYTES + rows * (CELL_BYTES + valueBytes(valueType));
}

export interface IndexLayout {
  nGenes: number;
  rows: number;
  valueType: ValueType;
}

/** Reads `bytes` bytes at `position` into `into` (whole or a named failure: a file shorter than its offsets say is damaged). */
async function readExactly(file: fs.FileHandle, into: Uint8Array, position: number, name: string): Promise<void> {
  let at = 0;
  while (at < into.byteLength) {
    const { bytesRead } = await file.read(into, at, into.byteLength - at, position + at);
    if (bytesRead === 0) fail("INTERNAL", `The gene index's ${name} file ends early`);
    at += bytesRead;
  }
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** An opened, checked index folder. */
export class GeneIndexFiles {
  private constructor(
    readonly dir: string,
    readonly layout: IndexLayout,
    private readonly offsets: Float64Array,
  ) {}

  /** The index in `dir` when its files agree with `layout` and with each other, else null. */
  static async open(dir: string, layout: IndexLayout): Promise<GeneIndexFiles | null> {
    const { nGenes, rows, valueType } = layout;
    if (!Number.isSafeInteger(nGenes) || nGenes < 0 || !Number.isSafeInteger(rows) || rows < 0 || !isValueType(valueType)) return null;
    const size = async (name: string) => (await fs.stat(path.join(dir, name)).catch(() => null))?.size ?? -1;
    if ((await size(CELLS_FILE)) !== rows * CELL_BYTES || (await size(VALUES_FILE)) !== rows * valueBytes(valueType)) return null;
    const raw = await fs.readFile(path.join(dir, OFFSETS_FILE)).catch(() => null);
    if (!raw || raw.byteLength !== (nGenes + 1) * OFFSET_BYTES) return null;
    const offsets = new Float64Array(nGenes + 1);
    bytesOf(offsets).set(raw);
    if (offsets[0] !== 0 || offsets[nGenes] !== rows) return null;
    for (let g = 0; g < nGenes; g++) if (!(offsets[g + 1] >= offsets[g]) || !Number.isInteger(offsets[g + 1])) return null;
    return new GeneIndexFiles(dir, { nGenes, rows, valueType }, offsets);
  }

  /** Bytes of its files. */
  get bytes(): number {
    return indexBytes(this.layout.rows, this.layout.nGenes, this.layout.valueType);
  }

  /** Rows of a gene (0 for a gene id past the index's genes). */
  rowsOf(gene: number): number {
    return gene >= 0 && gene < this.layout.nGenes ? this.offsets[gene + 1] - this.offsets[gene] : 0;
  }

  /** One gene's values by cell, as readGene gives them from the source (bytesRead: the bytes read from the files). */
  async read(gene: number, nCells: number, signal?: AbortSignal): Promise<GeneRead> {
    const values = new Float32Array(nCells);
    const n = this.rowsOf(gene);
    if (n === 0) return { values, rowsRead: 0, bytesRead: 0 };
    const start = this.offsets[gene];
    const cells = new Uint32Array(n);
    const stored = new VALUE_TYPES[this.layout.valueType](n);
    const opened = await Promise.allSettled([fs.open(path.join(this.dir, CELLS_FILE), "r"), fs.open(path.join(this.dir, VALUES_FILE), "r")]);
    const failed = opened.find((o) => o.status === "rejected");
    if (failed) {
      // The one that did open is closed, not left to the garbage collector.
      await Promise.all(opened.map((o) => (o.status === "fulfilled" ? o.value.close() : null)));
      fail("INTERNAL", `The gene index's files cannot be opened: ${(failed.reason as Error).message}`);
    }
    const [c, v] = opened.map((o) => (o as PromiseFulfilledResult<fs.FileHandle>).value);
    try {
      await Promise.all([
        readExactly(c, bytesOf(cells), start * CELL_BYTES, CELLS_FILE),
        readExactly(v, bytesOf(stored), start * stored.BYTES_PER_ELEMENT, VALUES_FILE),
      ]);
    } finally {
      await Promise.all([c.close(), v.close()]);
    }
    throwIfCancelled(signal);
    for (let r = 0; r < n; r++) {
      const cell = cells[r];
      if (cell < nCells) values[cell] += stored[r];
    }
    return { values, rowsRead: n, bytesRead: cells.byteLength + stored.byteLength };
  }
}
