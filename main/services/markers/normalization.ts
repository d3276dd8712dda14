/** Which normalization a markers request applies ("auto": log1p(CP10k) for counts, none otherwise) and the note saying so. */
import type * as lancedb from "@lancedb/lancedb";
import type { MarkersApplied, MarkersNormalization } from "../../../shared/ipc/contract";
import type { arrow } from "../arrow";
import type { OpenDataset } from "../datasets/open-dataset";
import { columnNumbers } from "../explore/arrow-read";
import { scanBatches } from "../explore/lance-scan";

type Vector = InstanceType<typeof arrow.Vector>;

/** Rows of a float value column looked at before choosing. */
const SAMPLE_ROWS = 65_536;

export interface NormalizationChoice {
  applied: MarkersApplied;
  note: string;
  /** Chosen from a sample of float values: every value must still be checked to be a count. */
  verify: boolean;
}

const LOG1P = "log1p(CP10k) applied: y = ln(1 + value / cell total × 10,000), as scanpy's normalize_total(target_sum=1e4) + log1p";

export function notCountsNote(example: number | null): string {
  return `No normalization: the values are not counts${example === null ? "" : ` (e.g. ${example})`}, so they are taken as already log-normalized`;
}

export async function chooseNormalization(ds: OpenDataset, expression: lancedb.Table, asked: MarkersNormalization): Promise<NormalizationChoice> {
  if (asked === "none") return { applied: "none", note: "No normalization (as asked): the stored values are used as they are", verify: false };
  if (asked === "log1p_cp10k") return { applied: "log1p_cp10k", note: `${LOG1P} (as asked)`, verify: false };
  const column = ds.summary.tables.find((t) => t.name === "expression")?.columns.find((c) => c.name === "value");
  if (column?.kind === "int") return { applied: "log1p_cp10k", note: `Counts (integer values): ${LOG1P}`, verify: false };
  const sample = await expression.query().select(["value"]).limit(SAMPLE_ROWS).toArrow();
  const values = columnNumbers(sample.getChild("value") as unknown as Vector);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    if (v < 0 || Math.floor(v) !== v) return { applied: "none", note: notCountsNote(v), verify: false };
  }
  return { applied: "log1p_cp10k", note: `Counts (float values, all whole numbers): ${LOG1P}`, verify: true };
}

/** Whether every stored value is a non-negative whole number (one read of the value column, stopping at the first that is not). */
export async function allCounts(expression: lancedb.Table, signal?: AbortSignal): Promise<boolean> {
  for await (const batch of scanBatches(expression, ["value"], { signal })) {
    const values = columnNumbers(batch.getChild("value") as Vector);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isNaN(v) && (v < 0 || Math.floor(v) !== v)) return false;
    }
  }
  return true;
}
