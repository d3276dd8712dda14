/**
 * Several inputs as one source: an atlas is usually several samples. Cells follow each other in input order
 * with a `sample` column (and `source_file`, as SLAF's multi-file conversion writes it, plus the columns of a
 * sample sheet); genes are the union over the inputs, matched by Ensembl id (`gene_ids`) when every input has
 * one, else by name; cell ids stay as they are unless two inputs share one, then every id gets "-<sample>"
 * (anndata's `concat(index_unique="-")`). What cannot be put together is left out with a warning: obsm keys
 * that are not in every input with the same width, varm and varp (they are per-input gene spaces), layers not
 * in every input. obsp is kept block by block; uns.json holds each input's uns under its sample name.
 */
import path from "node:path";
import type { ConvertMatrix } from "../../../shared/ipc/types/convert";
import { fail } from "../errors";
import { commonKind, concatValues, nullValues, pickValues } from "./column-merge";
import { CompactStrings } from "./names";
import type { ColumnValues, Embedding, Frame, FrameColumn, MatrixName, PairwiseBlock, RowChunk, RowsOptions, Source } from "./source";

export interface SamplePart {
  source: Source;
  sample: string;
  path: string;
  /** Sample-sheet columns: one value for every cell of this sample. */
  columns?: Record<string, string>;
}

export interface Combined {
  source: Source;
  notes: string[];
  /** Where each sample's cells start in the output. */
  offsets: number[];
}

const fmt = (n: number) => n.toLocaleString("en-US");

function findColumn(frame: Frame, name: string): FrameColumn | undefined {
  return frame.columns.find((c) => c.name === name);
}

/** Each input's gene keys: `gene_ids` when every input has that column, else the var names. */
function geneKeys(parts: SamplePart[]): { keys: string[][]; by: string } {
  const byIds = parts.every((p) => findColumn(p.source.var, "gene_ids"));
  const keys = parts.map((p) => {
    if (!byIds) return p.source.var.readIndex();
    const v = findColumn(p.source.var, "gene_ids")!.read(0, p.source.var.length);
    return Array.from(v.values as ArrayLike<unknown>, (x) => String(x ?? ""));
  });
  return { keys, by: byIds ? "gene_ids" : "name" };
}

function examples(names: string[]): string {
  return `${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}`;
}

/** Reads rows [s, e) of the concatenated inputs, each part from its own column (nulls where it has none). */
function concatColumn(name: string, parts: { offset: number; length: number; column?: FrameColumn; fill?: string }[]): FrameColumn {
  let kind: ColumnValues["type"] | null = null;
  const kindOf = () =>
    (kind ??= commonKind(parts.map((p) => (p.fill !== undefined ? "string" : p.column ? p.column.read(0, 0).type : null)).filter((k) => k !== null)));
  return {
    name,
    read(s, e) {
      const k = kindOf();
      const pieces: ColumnValues[] = [];
      for (const p of parts) {
        const a = Math.max(s, p.offset);
        const b = Math.min(e, p.offset + p.length);
        if (b <= a) continue;
        if (p.fill !== undefined) pieces.push({ type: "string", values: new Array<string>(b - a).fill(p.fill) });
        else if (p.column) pieces.push(p.column.read(a - p.offset, b - p.offset));
        else pieces.push(nullValues(k, b - a));
      }
      return concatValues(k, pieces);
    },
  };
}

export function combineSources(parts: SamplePart[], opts: { strict?: boolean } = {}): Combined {
  const notes: string[] = [];
  const warnings: string[] = [];
  const offsets: number[] = [];
  let nCells = 0;
  for (const p of parts) {
    offsets.push(nCells);
    nCells += p.source.nCells;
  }

  // Genes: the union, in order of first appearance.
  const { keys, by } = geneKeys(parts);
  const unionAt = new Map<string, number>();
  const owner: number[] = [];
  const ownerRow: number[] = [];
  const maps = keys.map((list, k) =>
    Int32Array.from(list, (key, g) => {
      let u = unionAt.get(key);
      if (u === undefined) {
        u = unionAt.size;
        unionAt.set(key, u);
        owner.push(k);
        ownerRow.push(g);
      }
      return u;
    }),
  );
  const nGenes = unionAt.size;
  const unionKeys = [...unionAt.keys()];
  const missing = parts.map((p, k) => {
    const has = new Uint8Array(nGenes);
    for (const u of maps[k]) has[u] = 1;
    return unionKeys.filter((_, u) => !has[u]);
  });
  const lacking = missing.map((m, k) => ({ sample: parts[k].sample, genes: m })).filter((x) => x.genes.length > 0);
  if (lacking.length) {
    const detail = lacking.map((x) => `${x.sample} lacks ${fmt(x.genes.length)} (${examples(x.genes)})`).join("; ");
    if (opts.strict) {
      fail(
        "CONVERT_INPUT_INVALID",
        `The inputs do not have the same genes (matched by ${by === "gene_ids" ? "gene_ids" : "gene name"}): ${detail}. Without --strict their union is used`,
      );
    }
    const inSome = new Set(lacking.flatMap((x) => x.genes)).size;
    notes.push(
      `genes: the union of the inputs' genes (${fmt(nGenes)}, matched by ${by === "gene_ids" ? "gene_ids" : "name"}); ${fmt(inSome)} are missing from some inputs: ${detail}`,
    );
  } else notes.push(`genes: the ${fmt(nGenes)} genes of every input, matched by ${by === "gene_ids" ? "gene_ids" : "name"}`);

  // var: the union's names and each column from the first input listing the gene that has it.
  const varNames = () => {
    const names = parts.map((p) => p.source.var.readIndex());
    return Array.from({ length: nGenes }, (_, u) => names[owner[u]][ownerRow[u]]);
  };
  const varColumnNames: string[] = [];
  for (const p of parts) for (const c of p.source.var.columns) if (!varColumnNames.includes(c.name)) varColumnNames.push(c.name);
  const varColumns: FrameColumn[] = varColumnNames.map((name) => {
    let whole: { kind: ColumnValues["type"]; parts: ColumnValues[]; from: Int32Array; rows: Int32Array } | null = null;
    const load = () => {
      const values = parts.map((p) => findColumn(p.source.var, name)?.read(0, p.source.var.length) ?? null);
      const from = new Int32Array(nGenes).fill(-1);
      const rows = new Int32Array(nGenes);
      parts.forEach((_, k) => {
        if (!values[k]) return;
        maps[k].forEach((u, g) => {
          if (from[u] < 0) {
            from[u] = k;
            rows[u] = g;
          }
        });
      });
      const present = values.filter((v): v is ColumnValues => v !== null);
      return { kind: commonKind(present.map((v) => v.type)), parts: values.map((v) => v ?? nullValues(present[0].type, 0)), from, rows };
    };
    return {
      name,
      read(s, e) {
        whole ??= load();
        return pickValues(whole.kind, whole.parts, whole.from.subarray(s, e), whole.rows.subarray(s, e));
      },
    };
  });

  // Cell ids: unique across inputs, or all suffixed with their sample.
  // Kept compact for the whole conversion (a million ids as JS strings would hold ~60 MB).
  const ids = (() => {
    const idLists = parts.map((p) => p.source.obs.readIndex());
    const distinct = new Set<string>();
    for (const l of idLists) for (const id of l) distinct.add(id);
    const suffix = distinct.size < nCells;
    if (suffix) notes.push('cell ids: some occur in more than one input, so every id has its sample appended ("<id>-<sample>")');
    return CompactStrings.from(suffix ? idLists.flatMap((l, k) => l.map((id) => `${id}-${parts[k].sample}`)) : idLists.flat());
  })();

  const sheetColumns: string[] = [];
  for (const p of parts) for (const c of Object.keys(p.columns ?? {})) if (!sheetColumns.includes(c)) sheetColumns.push(c);
  const obsColumnNames: string[] = [];
  for (const p of parts) for (const c of p.source.obs.columns) if (!obsColumnNames.includes(c.name)) obsColumnNames.push(c.name);
  const span = (k: number) => ({ offset: offsets[k], length: parts[k].source.nCells });
  const obsColumns: FrameColumn[] = [
    concatColumn(
      "sample",
      parts.map((p, k) => ({ ...span(k), fill: p.sample })),
    ),
    concatColumn(
      "source_file",
      parts.map((p, k) => ({ ...span(k), fill: path.basename(p.path) })),
    ),
    ...sheetColumns.map((c) =>
      concatColumn(
        c,
        parts.map((p, k) => ({ ...span(k), fill: p.columns?.[c] ?? "" })),
      ),
    ),
    ...obsColumnNames.map((c) =>
      concatColumn(
        c,
        parts.map((p, k) => ({ ...span(k), column: findColumn(p.source.obs, c) })),
      ),
    ),
  ];

  // obsm: keys every input has, with the same width.
  const obsm: Embedding[] = [];
  for (const e of parts[0].source.obsm) {
    const each = parts.map((p) => p.source.obsm.find((x) => x.name === e.name && x.dim === e.dim));
    if (each.some((x) => !x)) {
      warnings.push(`obsm/${e.name} is left out: not every input has it with ${e.dim} columns`);
      continue;
    }
    obsm.push({
      name: e.name,
      dim: e.dim,
      read(s, end) {
        const out = new Float32Array((end - s) * e.dim);
        parts.forEach((p, k) => {
          const a = Math.max(s, offsets[k]);
          const b = Math.min(end, offsets[k] + p.source.nCells);
          if (b > a) out.set(each[k]!.read(a - offsets[k], b - offsets[k]), (a - s) * e.dim);
        });
        return out;
      },
    });
  }
  for (const p of parts.slice(1))
    for (const e of p.source.obsm)
      if (!parts[0].source.obsm.some((x) => x.name === e.name)) warnings.push(`obsm/${e.name} of ${p.sample} is left out: not every input has it`);
  if (parts.some((p) => p.source.varm.length)) warnings.push("varm is left out: each input has its own genes, so gene embeddings do not line up");
  if (parts.some((p) => p.source.varp?.length)) warnings.push("varp is left out: each input has its own genes, so gene × gene matrices do not line up");

  const layers = parts[0].source.layers.filter((l) => parts.every((p) => p.source.layers.includes(l)));
  for (const p of parts)
    for (const l of p.source.layers) if (!layers.includes(l)) warnings.push(`layer ${l} of ${p.sample} is left out: not every input has it`);
  const layerSet = [...new Set(layers)];

  const obsp: PairwiseBlock[] = parts.flatMap((p, k) =>
    (p.source.obsp ?? []).map((b) => ({ ...b, offset: b.offset + offsets[k], map: b.map?.map((x) => (x < 0 ? -1 : x + offsets[k])) })),
  );

  // An input whose genes are the union's first genes in the same order needs no renumbering.
  const identity = maps.map((m) => m.every((u, g) => u === g));
  async function* rows(matrix: MatrixName, o: RowsOptions): AsyncGenerator<RowChunk> {
    // Reused from chunk to chunk: consumers are done with a chunk before they ask for the next.
    let genes = new Int32Array(0);
    for (let k = 0; k < parts.length; k++) {
      const map = maps[k];
      for await (const c of parts[k].source.rows(matrix, o)) {
        const placed = { start: c.start + offsets[k], end: c.end + offsets[k] };
        if (identity[k]) {
          yield { ...c, ...placed };
          continue;
        }
        if (genes.length < c.genes.length) genes = new Int32Array(Math.ceil(c.genes.length * 1.2));
        const out = genes.subarray(0, c.genes.length);
        for (let i = 0; i < out.length; i++) out[i] = map[c.genes[i]];
        // Genes renumbered into the union may change their order within a row.
        yield { ...c, ...placed, genes: out, genesSorted: undefined };
      }
    }
  }

  const Xs = parts.map((p) => p.source.matrices[0]);
  const matrix: ConvertMatrix = {
    name: "X",
    path: [...new Set(Xs.map((m) => m.path))].join(", "),
    nCells,
    nGenes,
    dtype: [...new Set(Xs.map((m) => m.dtype))].join(" / "),
    integer: Xs.every((m) => m.integer === true) ? true : Xs.some((m) => m.integer === false) ? false : null,
    nnz: Xs.every((m) => m.nnz !== null) ? Xs.reduce((n, m) => n + m.nnz!, 0) : null,
  };
  const typed = parts.some((p) => p.source.featureTypes);
  const source: Source = {
    format: parts[0].source.format,
    path: parts[0].path,
    nCells,
    nGenes,
    obs: { length: nCells, readIndex: () => ids.toArray(), columns: obsColumns },
    var: { length: nGenes, readIndex: varNames, columns: varColumns },
    obsm,
    varm: [],
    layers: layerSet,
    matrices: [matrix],
    nnz: matrix.nnz,
    warnings: [...parts.flatMap((p) => p.source.warnings.map((w) => `${p.sample}: ${w}`)), ...warnings],
    notes: parts.flatMap((p) => (p.source.notes ?? []).map((n) => `${p.sample}: ${n}`)),
    featureTypes: typed ? Array.from({ length: nGenes }, (_, u) => parts[owner[u]].source.featureTypes?.[ownerRow[u]] ?? "Gene Expression") : undefined,
    obsp: obsp.length ? obsp : undefined,
    uns: (w) => {
      const out: Record<string, unknown> = {};
      for (const p of parts) {
        const u = p.source.uns?.(w) ?? null;
        if (u) out[p.sample] = u;
      }
      return Object.keys(out).length ? out : null;
    },
    configExtra: () => ({
      multi_file: {
        source_files: parts.map((p, k) => ({
          file_path: p.path,
          file_name: path.basename(p.path),
          sample: p.sample,
          n_cells: p.source.nCells,
          cell_offset: offsets[k],
        })),
        total_files: parts.length,
        total_cells_from_files: nCells,
      },
    }),
    rows,
    // The inputs are closed by whoever opened them.
    close: async () => {},
  };
  return { source, notes, offsets };
}
