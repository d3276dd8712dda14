/** `slaf-workbench markers` arguments: every flag checked and named when wrong, the comparison as the service takes it. */
import type { MarkersComparison, MarkersFilter, MarkersNormalization } from "../../shared/ipc/types/markers";
import { checkKnownFlags, flagChoice, flagIntInRange, flagValue, parseArgs, UsageError, type ParsedArgs } from "./args";

export const MARKERS_DEFAULT_TOP = 20;

export const MARKERS_USAGE = `slaf-workbench markers DATASET|hf://datasets/OWNER/REPO[/PATH][@REV]|s3://BUCKET/PREFIX --groupby COLUMN (--group VALUE [--reference rest|VALUE] | --all) [--top N|all] [--format json|table] [--normalization auto|log1p_cp10k|none] [--direction up|down|both] [--min-logfc X] [--max-pval-adj P] [--min-pct F] [--offline]
      Marker genes as scanpy's rank_genes_groups(method="t-test") after normalize_total(1e4) + log1p: Welch's t per gene
      between the cells whose COLUMN is VALUE and the rest (default) or the cells whose COLUMN is another VALUE, ranked by
      score. --all: every category of COLUMN against the rest. VALUE is the category as text (numbers as printed,
      true/false); "rest" as --reference means every other cell.
      --top N: the N best genes of each comparison (default ${MARKERS_DEFAULT_TOP}); --top all (or 0): every gene.
      --normalization auto (default) applies log1p(CP10k) to counts and takes float values as already normalized.
      Filters (applied before --top): --direction up (score > 0) | down (score < 0, lowest first) | both (default),
      --min-logfc X (|log2 fold change| >= X), --max-pval-adj P (adjusted p <= P), --min-pct F (fraction of the group's
      cells expressing the gene >= F, 0-1).
      --format json prints {"group", "reference", "normalization", "cells_group", "cells_reference", "genes": [{"gene_id",
        "score", "logfoldchange", "pval", "pval_adj", "pct_group", "pct_reference"}, ...]} (gene_id: the genes table's);
        with --all {"groupby", "normalization", "groups": [{"group", "reference", "cells_group", "cells_reference",
        "genes": [...]}, ...]}. Numbers that are not finite print as null.`;

export type MarkersFormat = "table" | "json";

export interface MarkersArgs {
  dataset: string;
  comparison: MarkersComparison;
  /** Genes per comparison; null for every gene. */
  top: number | null;
  format: MarkersFormat;
  normalization: MarkersNormalization;
  filter: MarkersFilter;
  offline: boolean;
}

const BOOLEAN_FLAGS = ["all", "offline"] as const;
const VALUE_FLAGS = ["groupby", "group", "reference", "top", "format", "normalization", "direction", "min-logfc", "max-pval-adj", "min-pct"] as const;
const NORMALIZATIONS = ["auto", "log1p_cp10k", "none"] as const;
const DIRECTIONS = ["up", "down", "both"] as const;

function top(args: ParsedArgs): number | null {
  const v = flagValue(args, "top");
  if (v === undefined) return MARKERS_DEFAULT_TOP;
  if (v.trim().toLowerCase() === "all") return null;
  const n = flagIntInRange(args, "top", 0, 10_000_000)!;
  return n === 0 ? null : n;
}

function fraction(args: ParsedArgs, name: string, max: number): number | undefined {
  const v = flagValue(args, name);
  if (v === undefined) return undefined;
  const n = v.trim() === "" ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new UsageError(`--${name} needs a number from 0 to ${max}, got "${v}"`);
  return n;
}

/** A flag's text, refused when empty (a column or category named by nothing). */
function text(args: ParsedArgs, name: string, what: string): string | undefined {
  const v = flagValue(args, name);
  if (v !== undefined && v.trim() === "") throw new UsageError(`--${name} needs ${what}`);
  return v;
}

function comparison(args: ParsedArgs): MarkersComparison {
  const column = text(args, "groupby", "a cells column");
  if (column === undefined) throw new UsageError("markers needs --groupby COLUMN");
  const group = text(args, "group", "a category of the column");
  const reference = text(args, "reference", "rest or a category of the column");
  if (args.flags.has("all")) {
    if (group !== undefined || reference !== undefined) throw new UsageError("--all compares every category with the rest: leave out --group and --reference");
    return { kind: "all", column };
  }
  if (group === undefined) throw new UsageError("markers needs --group VALUE (or --all)");
  return { kind: "column", column, group, reference: reference === undefined || reference === "rest" ? { kind: "rest" } : { kind: "group", name: reference } };
}

export function parseMarkersArgs(argv: string[]): MarkersArgs {
  const args = parseArgs(argv, BOOLEAN_FLAGS);
  checkKnownFlags(args, VALUE_FLAGS, BOOLEAN_FLAGS);
  if (args.positionals.length !== 1) {
    throw new UsageError(
      args.positionals.length === 0 ? "markers needs a DATASET" : `markers takes one DATASET, got ${args.positionals.length}: ${args.positionals.join(" ")}`,
    );
  }
  const filter: MarkersFilter = {};
  const direction = flagChoice(args, "direction", DIRECTIONS, "both");
  if (direction !== "both") filter.direction = direction;
  const minAbsLogfc = fraction(args, "min-logfc", 1000);
  if (minAbsLogfc !== undefined) filter.minAbsLogfc = minAbsLogfc;
  const maxPvalAdj = fraction(args, "max-pval-adj", 1);
  if (maxPvalAdj !== undefined) filter.maxPvalAdj = maxPvalAdj;
  const minPctGroup = fraction(args, "min-pct", 1);
  if (minPctGroup !== undefined) filter.minPctGroup = minPctGroup;
  return {
    dataset: args.positionals[0],
    comparison: comparison(args),
    top: top(args),
    format: flagChoice<MarkersFormat>(args, "format", ["table", "json"], "table"),
    normalization: flagChoice<MarkersNormalization>(args, "normalization", NORMALIZATIONS, "auto"),
    filter,
    offline: args.flags.has("offline"),
  };
}
