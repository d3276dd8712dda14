/**
 * What one grid position shows, read on demand from a batch's typed arrays: the grid asks only for the cells it
 * draws (the visible rows × visible token positions), so a 32 × 2048 batch never becomes 65k objects.
 */
import { formatValue } from "../api/arrow-rows";
import { binOf, cutPosition, GENE_OFFSET, MASK, PAD, specialName, type RawBatchView, type TokenBatchView } from "./loader-batch";

export type TokenKind = "gene" | "cls" | "sep" | "pad" | "mask" | "oov" | "empty";

export interface GridCell {
  text: string;
  /** Second line (scGPT bin, raw value), or null. */
  sub: string | null;
  kind: TokenKind;
  /** attention_mask 0. */
  masked: boolean;
  geneId: number | null;
  title: string;
}

export interface GridRowLabel {
  id: string;
  label: string | null;
  /** Compare mode: which side this row is. */
  tag: string | null;
  title: string;
  truncated: boolean;
  sepLost: boolean;
}

export interface GridModel {
  rows: number;
  cols: number;
  /** Two lines per token (scGPT bins, raw values). */
  tall: boolean;
  label(row: number): GridRowLabel;
  cell(row: number, pos: number): GridCell;
  /** Token position before which truncation cut the row, or null when the row was not cut. */
  cut(row: number): number | null;
  /** The batch row a grid row shows (compare mode interleaves two rows per cell). */
  batchRow(row: number): number;
  /** True where the compare view marks a difference. */
  differs(row: number, pos: number): boolean;
}

export type SymbolOf = (geneId: number) => string;

export function symbolLookup(symbols: Map<number, string>): SymbolOf {
  return (g) => symbols.get(g) || `gene ${g}`;
}

/** A token's value for display ("—" for NaN, the value of a special token). */
export function fmt(v: number): string {
  return Number.isNaN(v) ? "—" : (formatValue(v) ?? "—");
}

export function tokenCell(b: TokenBatchView, row: number, pos: number, vocabSize: number, symbolOf: SymbolOf): GridCell {
  const i = row * b.seqLength + pos;
  const token = b.inputIds[i];
  const masked = b.attention[i] === 0;
  const vt = b.valueTokens ? b.valueTokens[i] : null;
  const where = `cell ${b.cellIds[row]} · position ${pos}`;
  if (token < GENE_OFFSET) {
    const name = specialName(token) ?? String(token);
    const kind: TokenKind = token === PAD ? "pad" : token === MASK ? "mask" : token === 1 ? "cls" : "sep";
    return { text: name, sub: null, kind, masked, geneId: null, title: `${name} (token ${token}) · ${where} · attention ${masked ? 0 : 1}` };
  }
  const geneId = token - GENE_OFFSET;
  const symbol = symbolOf(geneId);
  const bin = vt === null ? null : binOf(vt, vocabSize);
  const oov = token >= vocabSize;
  const parts = [
    `${symbol} · gene ${geneId} · token ${token}${oov ? " (≥ vocab_size)" : ""}`,
    `value ${fmt(b.values[i])}${vt === null ? "" : ` · value token ${vt} · bin ${bin ?? "—"}`}`,
    `${where} · attention ${masked ? 0 : 1}`,
  ];
  return { text: symbol, sub: bin === null ? null : `bin ${bin}`, kind: oov ? "oov" : "gene", masked, geneId, title: parts.join("\n") };
}

export function tokenLabel(b: TokenBatchView, row: number, tag: string | null = null): GridRowLabel {
  const truncated = b.truncated[row] === 1;
  const sepLost = b.sepKept[row] === 0;
  const label = b.labels[row];
  const notes = [
    `cell_integer_id ${b.cellIds[row]}${label ? ` · ${label}` : ""}`,
    `${b.nGenes[row].toLocaleString("en-US")} genes before truncation${truncated ? " · truncated" : ""}${sepLost ? " · SEP lost" : ""}`,
    b.fragment[row] >= 0 ? `from fragment ${b.fragment[row]}` : "",
  ].filter(Boolean);
  return { id: String(b.cellIds[row]), label, tag, title: notes.join("\n"), truncated, sepLost };
}

export function tokenGrid(b: TokenBatchView, vocabSize: number, symbolOf: SymbolOf): GridModel {
  return {
    rows: b.rows,
    cols: b.seqLength,
    tall: b.valueTokens !== null,
    label: (r) => tokenLabel(b, r),
    cell: (r, p) => tokenCell(b, r, p, vocabSize, symbolOf),
    cut: (r) => (b.truncated[r] ? cutPosition(b, r) : null),
    batchRow: (r) => r,
    differs: () => false,
  };
}

export function rawGrid(b: RawBatchView, symbolOf: SymbolOf): GridModel {
  return {
    rows: b.rows,
    cols: b.width,
    tall: true,
    label: (r) => {
      const n = b.starts[r + 1] - b.starts[r];
      return { id: String(b.cellIds[r]), label: null, tag: null, title: `cell_integer_id ${b.cellIds[r]} · ${n} COO rows`, truncated: false, sepLost: false };
    },
    cell: (r, p) => {
      const k = b.starts[r] + p;
      if (k >= b.starts[r + 1]) return { text: "", sub: null, kind: "empty", masked: false, geneId: null, title: "" };
      const g = b.geneIds[k];
      const symbol = symbolOf(g);
      const v = fmt(b.values[k]);
      return {
        text: symbol,
        sub: v,
        kind: "gene",
        masked: false,
        geneId: g,
        title: `${symbol} · gene ${g} · value ${v}\ncell ${b.cellIds[r]} · COO row ${p} of the cell`,
      };
    },
    cut: () => null,
    batchRow: (r) => r,
    differs: () => false,
  };
}

/** Side by side: each cell's slafdb-0.5.2 row directly above its canonical row, differing positions marked. */
export function compareGrid(slafdb: TokenBatchView, canonical: TokenBatchView, differing: Set<number>[], vocabSize: number, symbolOf: SymbolOf): GridModel {
  const side = (r: number): TokenBatchView => (r % 2 === 0 ? slafdb : canonical);
  return {
    rows: Math.min(slafdb.rows, canonical.rows) * 2,
    cols: Math.max(slafdb.seqLength, canonical.seqLength),
    tall: slafdb.valueTokens !== null,
    label: (r) => tokenLabel(side(r), r >> 1, r % 2 === 0 ? "0.5.2" : "canon"),
    cell: (r, p) => {
      const b = side(r);
      if (p >= b.seqLength) return { text: "", sub: null, kind: "empty", masked: false, geneId: null, title: "" };
      return tokenCell(b, r >> 1, p, vocabSize, symbolOf);
    },
    cut: (r) => (side(r).truncated[r >> 1] ? cutPosition(side(r), r >> 1) : null),
    batchRow: (r) => r >> 1,
    differs: (r, p) => differing[r >> 1]?.has(p) ?? false,
  };
}
