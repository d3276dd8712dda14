/**
 * 10x feature types (Cell Ranger's `features/feature_type`, column 3 of features.tsv): CITE-seq adds
 * "Antibody Capture", CRISPR screens "CRISPR Guide Capture", cell hashing "Multiplexing Capture", multiome
 * "Peaks". Tokenizers and marker statistics must not take antibodies or peaks for genes, so by default only
 * "Gene Expression" fills `genes` / `expression` (as scanpy's `read_10x_h5(gex_only=True)` does); the others can
 * be kept (`["all"]` or a list) or written as datasets of their own beside the output.
 */
import type { FeatureTypeCount } from "../../../shared/ipc/types/convert";
import { fail } from "../errors";
import { gatherColumn } from "./column-gather";
import { remappedEmbedding, remappedRows } from "./gene-remap";
import { remapBlocks } from "./pairwise";
import type { Frame, Source } from "./source";

export const GENE_EXPRESSION = "Gene Expression";

export function featureTypeCounts(types: readonly string[]): FeatureTypeCount[] {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([type, count]) => ({ type, count }));
}

export interface FeatureChoice {
  /** Every feature type of the inputs, in order of first appearance, with its count over all inputs. */
  all: FeatureTypeCount[];
  kept: string[];
  leftOut: FeatureTypeCount[];
}

const describe = (all: FeatureTypeCount[]) => all.map((t) => `${t.type} (${t.count.toLocaleString("en-US")})`).join(", ");

/**
 * The feature types that fill the dataset, over all inputs that have feature types: `requested` (["all"] or
 * names, any case), else "Gene Expression" when there is any, else all. Null when no input has feature types.
 */
export function chooseFeatureTypes(sources: readonly Source[], requested?: readonly string[]): FeatureChoice | null {
  const typed = sources.filter((s) => s.featureTypes);
  if (typed.length === 0) {
    if (requested?.length && !(requested.length === 1 && requested[0].toLowerCase() === "all")) {
      fail("INVALID_ARGUMENT", `Feature types were chosen (${requested.join(", ")}) but the input has none (only 10x inputs do)`);
    }
    return null;
  }
  const all = featureTypeCounts(typed.flatMap((s) => s.featureTypes!));
  let kept: string[];
  if (requested?.length) {
    if (requested.some((r) => r.toLowerCase() === "all")) {
      if (requested.length > 1) fail("INVALID_ARGUMENT", `Feature types: "all" cannot be combined with names (${requested.join(", ")})`);
      kept = all.map((t) => t.type);
    } else {
      kept = requested.map((r) => {
        const hit = all.find((t) => t.type.toLowerCase() === r.trim().toLowerCase());
        if (!hit) fail("INVALID_ARGUMENT", `The input has no "${r}" features; it has: ${describe(all)}`);
        return hit.type;
      });
      kept = [...new Set(kept)];
    }
  } else kept = all.some((t) => t.type === GENE_EXPRESSION) ? [GENE_EXPRESSION] : all.map((t) => t.type);
  return { all, kept, leftOut: all.filter((t) => !kept.includes(t.type)) };
}

/**
 * The features of `source` whose type is in `keep`. A source without feature types (an h5ad) keeps all of
 * them, or none (`keepTypeless` false: its cells in a dataset of another modality).
 */
export function featureView(source: Source, keep: ReadonlySet<string>, keepTypeless = true): Source {
  const types = source.featureTypes;
  if (!types) return keepTypeless ? source : subsetGenes(source, new Int32Array(0));
  const rows: number[] = [];
  types.forEach((t, g) => {
    if (keep.has(t)) rows.push(g);
  });
  if (rows.length === types.length) return source;
  return subsetGenes(source, Int32Array.from(rows));
}

/** A view of `source` with only the genes `rows` (old positions, in their new order). */
export function subsetGenes(source: Source, rows: Int32Array): Source {
  const map = new Int32Array(source.nGenes).fill(-1);
  rows.forEach((g, i) => (map[g] = i));
  const n = rows.length;
  const vars: Frame = {
    length: n,
    readIndex: () => {
      const names = source.var.readIndex();
      return Array.from(rows, (g) => names[g]);
    },
    columns: source.var.columns.map((c) => {
      let whole: ReturnType<typeof c.read> | null = null;
      return { name: c.name, read: (s: number, e: number) => gatherColumn((whole ??= c.read(0, source.var.length)), rows.subarray(s, e)) };
    }),
  };
  return {
    ...source,
    nGenes: n,
    var: vars,
    varm: source.varm.map((e) => remappedEmbedding(e, source.nGenes, rows)),
    matrices: source.matrices.map((m) => ({ ...m, nGenes: n, nnz: null })),
    nnz: null,
    featureTypes: source.featureTypes ? Array.from(rows, (g) => source.featureTypes![g]) : undefined,
    varp: remapBlocks(source.varp, map) ?? undefined,
    rows: (matrix, opts) => remappedRows(source.rows(matrix, opts), map),
  };
}

/** "genes holds the 8,674 Gene Expression features; left out: 20 Antibody Capture (ADT_0, ADT_1, ADT_2, …)". */
export function featureNote(choice: FeatureChoice, sources: readonly Source[]): string | null {
  if (choice.leftOut.length === 0) return choice.all.length > 1 ? `genes holds every feature type: ${describe(choice.all)}` : null;
  const keptCount = choice.all.filter((t) => choice.kept.includes(t.type)).reduce((n, t) => n + t.count, 0);
  const left = choice.leftOut.map((t) => {
    const examples: string[] = [];
    for (const s of sources) {
      if (!s.featureTypes || examples.length >= 3) continue;
      const names = s.var.readIndex();
      s.featureTypes.forEach((ft, g) => {
        if (ft === t.type && examples.length < 3) examples.push(names[g]);
      });
    }
    return `${t.count.toLocaleString("en-US")} ${t.type} (${examples.join(", ")}${t.count > examples.length ? ", …" : ""})`;
  });
  return `genes holds the ${keptCount.toLocaleString("en-US")} ${choice.kept.join(" + ")} features; left out: ${left.join("; ")}`;
}

/** File-name form of a feature type: "Antibody Capture" → "antibody-capture". */
export function featureSlug(type: string): string {
  return (
    type
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "features"
  );
}
