/**
 * A SLAF dataset small enough to rank by hand, whose genes table carries per-gene nonzero medians (as Geneformer's
 * gene_median_dictionary) beside a string id, an integer count and a boolean column.
 *
 *   gene         G0  G1  G2    G3  G4    G5
 *   gene_median  2   1   0.25  0   null  4      (G3: zero, G4: none: both dropped when ranking by medians)
 *
 *   cell 0: G0=4 G1=4 G2=1 G3=9 G5=8   value / median: G1 4, G2 4, G0 2, G5 2 → G1 G2 G0 G5
 *   cell 1: G0=3 G4=7 G5=2             → G0 1.5, G5 0.5 → G0 G5
 *   cell 2: G3=5 G4=5                  → nothing left: [CLS, SEP]
 */
import { arrow } from "../../../main/services/arrow";
import { SlafWriter } from "../../../main/services/convert/slaf-writer";

type ArrowTable = InstanceType<typeof arrow.Table>;

export const MEDIAN_GENES = ["G0", "G1", "G2", "G3", "G4", "G5"];
export const MEDIANS: (number | null)[] = [2, 1, 0.25, 0, null, 4];
export const MEDIAN_CELLS = [
  { genes: [0, 1, 2, 3, 5], values: [4, 4, 1, 9, 8] },
  { genes: [0, 4, 5], values: [3, 7, 2] },
  { genes: [3, 4], values: [5, 5] },
];
/** Gene ids in canonical order, ranked by value / median, per cell (worked out above). */
export const BY_MEDIANS = [[1, 2, 0, 5], [0, 5], []];
/** The same without medians: value descending, ties by gene id. */
export const BY_VALUE = [
  [3, 5, 0, 1, 2],
  [4, 0, 5],
  [3, 4],
];

export async function writeMediansSlaf(root: string): Promise<void> {
  const nCells = MEDIAN_CELLS.length;
  const nGenes = MEDIAN_GENES.length;
  const writer = await SlafWriter.create(root, { valueType: "uint16", nGenes, nCells });
  const { vectorFromArray, Utf8, Int64, Int32, Float64, Bool, Table } = arrow;
  const starts: number[] = [];
  let rows = 0;
  for (const c of MEDIAN_CELLS) {
    starts.push(rows);
    rows += c.genes.length;
  }
  await writer.writeTable(
    "cells",
    new Table({
      cell_id: vectorFromArray(
        MEDIAN_CELLS.map((_, c) => `cell${c}`),
        new Utf8(),
      ),
      cell_type: vectorFromArray(["T", "B", "T"], new Utf8()),
      cell_integer_id: vectorFromArray(
        MEDIAN_CELLS.map((_, c) => BigInt(c)),
        new Int64(),
      ),
      cell_start_index: vectorFromArray(starts.map(BigInt), new Int64()),
    } as never) as unknown as ArrowTable,
  );
  await writer.writeTable(
    "genes",
    new Table({
      gene_id: vectorFromArray(MEDIAN_GENES, new Utf8()),
      gene_integer_id: vectorFromArray(
        MEDIAN_GENES.map((_, g) => BigInt(g)),
        new Int64(),
      ),
      gene_median: vectorFromArray(MEDIANS, new Float64()),
      n_cells: vectorFromArray([2, 1, 1, 2, 2, 2], new Int32()),
      highly_variable: vectorFromArray([true, false, true, false, true, false], new Bool()),
    } as never) as unknown as ArrowTable,
  );
  await writer.appendExpression({
    cell: Uint32Array.from(MEDIAN_CELLS.flatMap((c, i) => c.genes.map(() => i))),
    gene: Uint16Array.from(MEDIAN_CELLS.flatMap((c) => c.genes)),
    value: Uint16Array.from(MEDIAN_CELLS.flatMap((c) => c.values)),
  });
  await writer.finish({ nCells, nGenes });
}
