/**
 * A dataloader batch's Arrow IPC read into flat typed arrays (the layouts documented in shared/ipc/types/loader.ts).
 * Token grids read these arrays directly: nothing here builds an object per token.
 */
import type { Table, Vector } from "apache-arrow";
import { decodePage } from "../api/arrow-rows";

export const PAD = 0;
export const CLS = 1;
export const SEP = 2;
export const MASK = 3;
export const GENE_OFFSET = 4;
export const SPECIAL_NAMES = ["PAD", "CLS", "SEP", "MASK"] as const;

/** A tokenized batch: row-major [rows × seqLength] arrays. */
export interface TokenBatchView {
  kind: "tokens";
  rows: number;
  seqLength: number;
  cellIds: Int32Array;
  labels: (string | null)[];
  /** Genes each cell had before truncation. */
  nGenes: Int32Array;
  truncated: Uint8Array;
  sepKept: Uint8Array;
  fragment: Int32Array;
  inputIds: Int32Array;
  attention: Uint8Array;
  /** The value behind each gene token; NaN on special tokens. */
  values: Float32Array;
  /** scGPT: SLAF's value tokens (vocab_size + bin); null for Geneformer. */
  valueTokens: Int32Array | null;
}

/** A raw batch: COO rows grouped per cell, cells in order of first appearance. */
export interface RawBatchView {
  kind: "raw";
  rows: number;
  /** Most COO entries any cell has (the grid's width). */
  width: number;
  cellIds: Int32Array;
  /** Cell r owns entries [starts[r], starts[r + 1]). */
  starts: Int32Array;
  geneIds: Int32Array;
  values: Float64Array;
}

export type BatchView = TokenBatchView | RawBatchView;

type Numeric = Int32Array | Uint8Array | Float32Array;
type NumericCtor<T extends Numeric> = { new (n: number): T; BYTES_PER_ELEMENT: number };

function child(table: Table, name: string): Vector {
  const v = table.getChild(name);
  if (!v) throw new Error(`The batch has no column ${name}`);
  return v;
}

/** A FixedSizeList column as one flat array (a view when the column is one chunk, else a copy). */
function flatList<T extends Numeric>(vec: Vector, width: number, Ctor: NumericCtor<T>): T {
  const chunks = vec.data;
  if (chunks.length === 1) {
    const values = chunks[0].children[0];
    const arr = values.values as T;
    const start = values.offset;
    return arr.subarray(start, start + chunks[0].length * width) as T;
  }
  const out = new Ctor(vec.length * width);
  let at = 0;
  for (const d of chunks) {
    const values = d.children[0];
    const n = d.length * width;
    out.set((values.values as T).subarray(values.offset, values.offset + n), at);
    at += n;
  }
  return out;
}

function ints(vec: Vector): Int32Array {
  const out = new Int32Array(vec.length);
  for (let i = 0; i < vec.length; i++) out[i] = Number(vec.get(i) ?? -1);
  return out;
}

function flags(vec: Vector | null, n: number, fallback: 0 | 1): Uint8Array {
  const out = new Uint8Array(n).fill(fallback);
  if (vec) for (let i = 0; i < n; i++) out[i] = vec.get(i) ? 1 : 0;
  return out;
}

function listWidth(vec: Vector): number {
  const type = vec.type as { listSize?: number };
  if (typeof type.listSize !== "number") throw new Error("input_ids is not a fixed-size list");
  return type.listSize;
}

export function tokenBatchFromTable(table: Table): TokenBatchView {
  const ids = child(table, "input_ids");
  const seqLength = listWidth(ids);
  const rows = table.numRows;
  const labelVec = table.getChild("label");
  const labels: (string | null)[] = [];
  for (let i = 0; i < rows; i++) {
    const v = labelVec?.get(i);
    labels.push(v === null || v === undefined ? null : String(v));
  }
  const valueTokens = table.getChild("value_tokens");
  return {
    kind: "tokens",
    rows,
    seqLength,
    cellIds: ints(child(table, "cell_integer_id")),
    labels,
    nGenes: ints(child(table, "n_genes")),
    truncated: flags(table.getChild("truncated"), rows, 0),
    sepKept: flags(table.getChild("sep_kept"), rows, 1),
    fragment: table.getChild("fragment") ? ints(child(table, "fragment")) : new Int32Array(rows).fill(-1),
    inputIds: flatList(ids, seqLength, Int32Array),
    attention: flatList(child(table, "attention_mask"), seqLength, Uint8Array),
    values: flatList(child(table, "values"), seqLength, Float32Array),
    valueTokens: valueTokens ? flatList(valueTokens, seqLength, Int32Array) : null,
  };
}

export function rawBatchFromTable(table: Table): RawBatchView {
  const n = table.numRows;
  const cells = child(table, "cell_integer_id").toArray() as ArrayLike<number | bigint>;
  const genes = child(table, "gene_integer_id").toArray() as ArrayLike<number | bigint>;
  const vals = child(table, "value").toArray() as ArrayLike<number | bigint>;
  // Group rows per cell in order of first appearance (SLAF emits each cell's rows together, but do not rely on it).
  const groupOf = new Map<number, number>();
  const group = new Int32Array(n);
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = Number(cells[i]);
    let g = groupOf.get(c);
    if (g === undefined) {
      g = counts.length;
      groupOf.set(c, g);
      counts.push(0);
    }
    group[i] = g;
    counts[g]++;
  }
  const rows = counts.length;
  const starts = new Int32Array(rows + 1);
  for (let g = 0; g < rows; g++) starts[g + 1] = starts[g] + counts[g];
  const fill = starts.slice(0, rows);
  const geneIds = new Int32Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const at = fill[group[i]]++;
    geneIds[at] = Number(genes[i]);
    values[at] = Number(vals[i]);
  }
  const cellIds = new Int32Array(rows);
  for (const [c, g] of groupOf) cellIds[g] = c;
  return { kind: "raw", rows, width: counts.reduce((m, x) => Math.max(m, x), 0), cellIds, starts, geneIds, values };
}

export function decodeBatch(kind: "tokens" | "raw", arrow: Uint8Array): BatchView {
  const table = decodePage(arrow);
  return kind === "tokens" ? tokenBatchFromTable(table) : rawBatchFromTable(table);
}

/** gene_integer_id → symbol, from a batch's `genes` Arrow. */
export function geneSymbols(arrow: Uint8Array): Map<number, string> {
  const table = decodePage(arrow);
  const ids = child(table, "gene_integer_id");
  const symbols = child(table, "symbol");
  const out = new Map<number, string>();
  for (let i = 0; i < table.numRows; i++) out.set(Number(ids.get(i)), String(symbols.get(i) ?? ""));
  return out;
}

export function specialName(token: number): string | null {
  return token >= 0 && token < GENE_OFFSET ? SPECIAL_NAMES[token] : null;
}

/** The bin behind a scGPT value token (value token − vocab_size), or null on PAD. */
export function binOf(valueToken: number, vocabSize: number): number | null {
  return valueToken === PAD ? null : valueToken - vocabSize;
}

/** Position after the last gene token of a row: where truncation cut a truncated cell. */
export function cutPosition(b: TokenBatchView, row: number): number {
  const base = row * b.seqLength;
  for (let p = b.seqLength - 1; p >= 0; p--) if (b.inputIds[base + p] >= GENE_OFFSET) return p + 1;
  return 0;
}

export interface GeneAcrossBatch {
  geneId: number;
  /** Per row: the gene's position in the row, or -1 when the row does not hold it. */
  positions: Int32Array;
  present: number;
}

/** Where one gene sits in every row of the batch (a scan of input_ids; no per-token objects). */
export function geneAcrossBatch(b: BatchView, geneId: number): GeneAcrossBatch {
  const positions = new Int32Array(b.rows).fill(-1);
  let present = 0;
  for (let r = 0; r < b.rows; r++) {
    if (b.kind === "tokens") {
      const base = r * b.seqLength;
      const token = geneId + GENE_OFFSET;
      for (let p = 0; p < b.seqLength; p++) {
        if (b.inputIds[base + p] === token) {
          positions[r] = p;
          break;
        }
      }
    } else {
      for (let k = b.starts[r]; k < b.starts[r + 1]; k++) {
        if (b.geneIds[k] === geneId) {
          positions[r] = k - b.starts[r];
          break;
        }
      }
    }
    if (positions[r] >= 0) present++;
  }
  return { geneId, positions, present };
}

export interface ExplainRows {
  rows: number;
  rank: Int32Array;
  geneIds: Int32Array;
  symbols: string[];
  values: Float32Array;
  scores: Float32Array;
  /** -1 when not binned. */
  bins: Int32Array;
  kept: Uint8Array;
}

/** A cell explanation's Arrow (rank, gene_integer_id, symbol, value, score, bin, kept). */
export function explainRows(arrow: Uint8Array): ExplainRows {
  const t = decodePage(arrow);
  const n = t.numRows;
  const num = (name: string, Ctor: Float32ArrayConstructor): Float32Array => {
    const v = t.getChild(name);
    const out = new Ctor(n);
    for (let i = 0; i < n; i++) out[i] = v ? Number(v.get(i) ?? NaN) : NaN;
    return out;
  };
  const binVec = t.getChild("bin");
  const bins = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const b = binVec?.get(i);
    bins[i] = b === null || b === undefined ? -1 : Number(b);
  }
  const sym = t.getChild("symbol");
  const symbols: string[] = [];
  for (let i = 0; i < n; i++) symbols.push(String(sym?.get(i) ?? ""));
  return {
    rows: n,
    rank: ints(child(t, "rank")),
    geneIds: ints(child(t, "gene_integer_id")),
    symbols,
    values: num("value", Float32Array),
    scores: num("score", Float32Array),
    bins,
    kept: flags(t.getChild("kept"), n, 1),
  };
}
