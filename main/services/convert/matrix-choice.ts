/**
 * Which input matrix fills `expression` (X, raw/X or a layer), chosen by the user or by default, and the
 * source as the writer then sees it: that matrix as "X", its genes as var, the other matrices as layers.
 * Tokenizers and marker statistics need counts, and CELLxGENE-style files keep them in raw/X with a
 * normalized X, so raw/X is the default when it holds integers and X does not.
 */
import type { ConvertMatrix } from "../../../shared/ipc/types/convert";
import { fail } from "../errors";
import { geneMap, invertMap, mergedVar, remappedEmbedding, remappedRows, unmatched } from "./gene-remap";
import { remapBlocks } from "./pairwise";
import type { MatrixName, RowChunk, RowsOptions, Source } from "./source";

export interface MatrixSelection {
  source: Source;
  matrix: ConvertMatrix;
  notes: string[];
}

export interface MatrixOptions {
  /** "X", "raw" or "layer:<name>" (also "raw/X" and "layers/<name>"); default: see defaultMatrix. */
  matrix?: string;
  /** Keep the other of X / raw/X (X when a layer is chosen) as a layer. */
  keepOtherAsLayer?: boolean;
}

export function parseMatrixName(text: string): MatrixName {
  const t = text.trim();
  if (t === "X") return "X";
  if (t === "raw" || t === "raw/X" || t === "raw.X") return "raw";
  const layer = /^(?:layer:|layers\/)(.+)$/.exec(t)?.[1];
  if (layer) return { layer };
  fail("INVALID_ARGUMENT", `Unknown matrix "${text}": use X, raw or layer:<name>`);
}

export function matrixKey(m: MatrixName): string {
  return typeof m === "string" ? m : `layer:${m.layer}`;
}

const describe = (m: ConvertMatrix) => (m.integer === true ? "integer counts" : m.integer === false ? "non-integer values" : "no stored values");

/** The matrix used when none is chosen, and a sentence saying why. */
export function defaultMatrix(matrices: ConvertMatrix[]): { name: string; reason: string } {
  const X = matrices[0];
  const raw = matrices.find((m) => m.name === "raw");
  if (raw?.integer === true && X.integer === false) {
    return { name: "raw", reason: "raw/X holds integer counts and X does not (X looks normalized); tokenizers and marker statistics need counts" };
  }
  if (matrices.length === 1) return { name: "X", reason: `the only matrix (${describe(X)})` };
  const counts = matrices.find((m) => m !== X && m.integer === true);
  if (X.integer === false && counts) return { name: "X", reason: `X holds non-integer values; ${counts.path} holds integer counts: choose it to store counts` };
  return { name: "X", reason: `X holds ${describe(X)}` };
}

interface LayerPlan {
  name: string;
  from: MatrixName;
  /** Input gene → output gene (-1: dropped), when the layer's genes are not the output's. */
  map: Int32Array | null;
}

function uniqueName(name: string, taken: Set<string>): string {
  let n = name;
  for (let k = 2; taken.has(n); k++) n = `${name}_${k}`;
  taken.add(n);
  return n;
}

export function selectMatrix(source: Source, opts: MatrixOptions = {}): MatrixSelection {
  const requested = opts.matrix === undefined ? null : parseMatrixName(opts.matrix);
  const fallback = defaultMatrix(source.matrices);
  const chosen: MatrixName = requested ?? parseMatrixName(fallback.name);
  const info = source.matrices.find((m) => m.name === matrixKey(chosen));
  if (!info) {
    const have = source.matrices.map((m) => m.name).join(", ");
    fail(
      "CONVERT_INPUT_INVALID",
      `${source.path} has no ${typeof chosen === "string" ? (chosen === "raw" ? "raw/X" : "X") : `layers/${chosen.layer}`}; it has: ${have}`,
      { path: source.path },
    );
  }
  const notes: string[] = [];
  const warnings: string[] = [];
  if (source.matrices.length > 1 || requested) {
    const why =
      matrixKey(chosen) !== fallback.name
        ? `as chosen (the default is ${fallback.name === "raw" ? "raw/X" : fallback.name})`
        : `by default: ${fallback.reason}`;
    notes.push(`expression holds ${info.path} (${info.dtype}, ${describe(info)}), ${why}`);
  }
  const onRaw = chosen === "raw";
  // X-indexed data (var columns, varm, layers) placed on raw/var's genes when raw/X is used, and back.
  let xToOut: Int32Array | null = null;
  let outToX: Int32Array | null = null;
  const xNames = onRaw || opts.keepOtherAsLayer ? source.var.readIndex() : [];
  const rawNames = source.rawVar && (onRaw || (opts.keepOtherAsLayer && chosen === "X")) ? source.rawVar.readIndex() : [];
  if (onRaw) {
    xToOut = geneMap(xNames, rawNames);
    outToX = xToOut && invertMap(xToOut, rawNames.length);
    const lost = unmatched(xToOut);
    if (lost && (source.layers.length || opts.keepOtherAsLayer))
      warnings.push(`${lost.toLocaleString("en-US")} genes of var are not in raw/var; their values in X-shaped layers are not kept`);
  }
  const taken = new Set<string>();
  const layers: LayerPlan[] = source.layers
    .filter((k) => !(typeof chosen === "object" && chosen.layer === k))
    .map((k) => ({ name: uniqueName(k, taken), from: { layer: k }, map: xToOut }));
  if (opts.keepOtherAsLayer) {
    if (chosen === "X" && source.rawVar) {
      const rawToX = geneMap(rawNames, xNames);
      const lost = unmatched(rawToX);
      if (lost) warnings.push(`raw/X has ${lost.toLocaleString("en-US")} genes that are not in var; the raw layer leaves them out`);
      layers.push({ name: uniqueName("raw", taken), from: "raw", map: rawToX });
      notes.push("raw/X is kept as the layer raw");
    } else if (chosen !== "X") {
      layers.push({ name: uniqueName("X", taken), from: "X", map: xToOut });
      notes.push("X is kept as the layer X");
    } else notes.push("there is no raw/X to keep as a layer");
  }
  const byName = new Map(layers.map((l) => [l.name, l]));
  let varp = source.varp;
  if (onRaw && xToOut && varp) {
    const moved = remapBlocks(varp, xToOut);
    if (moved === null) warnings.push("varp is left out: var's genes are not in raw/var's order, so its (i, j) order would not hold");
    varp = moved ?? undefined;
  }
  const view: Source = {
    ...source,
    nGenes: info.nGenes,
    var: onRaw && source.rawVar ? mergedVar(source.rawVar, source.var, outToX) : source.var,
    varm: onRaw && outToX ? source.varm.map((e) => remappedEmbedding(e, source.nGenes, outToX)) : source.varm,
    varp,
    layers: layers.map((l) => l.name),
    matrices: [info],
    nnz: info.nnz,
    warnings: [...source.warnings, ...warnings],
    rows(matrix: MatrixName, o: RowsOptions): AsyncIterable<RowChunk> {
      if (matrix === "X") return source.rows(chosen, o);
      const plan = typeof matrix === "object" ? byName.get(matrix.layer) : undefined;
      if (!plan) fail("INTERNAL", `no layer ${matrixKey(matrix)} in the conversion plan`);
      const rows = source.rows(plan.from, o);
      return plan.map ? remappedRows(rows, plan.map) : rows;
    },
    close: () => source.close(),
  };
  return { source: view, matrix: info, notes };
}
