import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AppFailure } from "../../../shared/result";
import { convertCommand } from "../../../main/commands/convert";
import { convertFile } from "../../../main/services/convert/convert";
import { inspectInput } from "../../../main/services/convert/convert";
import { DATA_DIR, loadPbmc } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { readBack, triples } from "./read-back";

const CITESEQ = path.join(DATA_DIR, "real-world", "citeseq.h5");

/** The CITE-seq file read directly (the oracle): per feature name and type, and every (cell, feature, count). */
interface Citeseq {
  barcodes: string[];
  names: string[];
  ids: string[];
  types: string[];
  entries: { cell: number; feature: number; value: number }[];
}

let dir: string;
let cs: Citeseq;

async function readCiteseq(): Promise<Citeseq> {
  await h5wasm.ready;
  const f = new h5wasm.File(CITESEQ, "r");
  try {
    const value = (p: string) => (f.get(p) as InstanceType<typeof h5wasm.Dataset>).value;
    const str = (p: string) => value(p) as string[];
    const indptr = Array.from(value("matrix/indptr") as BigInt64Array, Number);
    const indices = Array.from(value("matrix/indices") as BigInt64Array, Number);
    const data = Array.from(value("matrix/data") as Int32Array);
    const entries: Citeseq["entries"] = [];
    for (let c = 0; c + 1 < indptr.length; c++) for (let i = indptr[c]; i < indptr[c + 1]; i++) entries.push({ cell: c, feature: indices[i], value: data[i] });
    return {
      barcodes: str("matrix/barcodes"),
      names: str("matrix/features/name"),
      ids: str("matrix/features/id"),
      types: str("matrix/features/feature_type"),
      entries,
    };
  } finally {
    f.close();
  }
}

/** Expected triples for the features `keep` (in file order), renumbered as the dataset numbers them. */
function expected(keep: (type: string) => boolean): string[] {
  const at = new Map<number, number>();
  cs.types.forEach((t, g) => keep(t) && at.set(g, at.size));
  const byCell = new Map<number, string[]>();
  const sorted = cs.entries.filter((e) => at.has(e.feature)).sort((a, b) => a.cell - b.cell || at.get(a.feature)! - at.get(b.feature)!);
  for (const e of sorted) (byCell.get(e.cell) ?? byCell.set(e.cell, []).get(e.cell)!).push(`${e.cell}:${at.get(e.feature)}=${e.value}`);
  return [...byCell.values()].flat();
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppFailure) return e.appError;
    throw e;
  }
  throw new Error("expected a failure");
}

beforeAll(async () => {
  dir = await tempDir("slafwb-features-");
  cs = await readCiteseq();
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("10x feature types", () => {
  it("keeps Gene Expression only by default (the PBMC values), saying what was left out", async () => {
    const out = path.join(dir, "gex.slaf");
    const summary = await convertFile(CITESEQ, out);
    const data = await readBack(out);
    const pbmc = loadPbmc();
    const pbmcTriples = pbmc.cells.flatMap((c, i) => c.genes.map((g, k) => `${i}:${g}=${c.values[k]}`));
    expect(triples(data)).toEqual(pbmcTriples);
    expect(data.config.metadata.expression_count).toBe(151_815);
    expect(data.genes.gene_id).toEqual(pbmc.genes);
    expect(new Set(data.genes.feature_types)).toEqual(new Set(["Gene Expression"]));
    expect(data.cells.cell_id).toEqual(cs.barcodes);
    expect(summary.featureTypes).toEqual({ kept: ["Gene Expression"], leftOut: [{ type: "Antibody Capture", count: 20 }] });
    expect(summary.notes).toContain("genes holds the 8,674 Gene Expression features; left out: 20 Antibody Capture (ADT_0, ADT_1, ADT_2, …)");
    const inspection = await inspectInput(CITESEQ);
    expect(inspection.featureTypes).toEqual([
      { type: "Gene Expression", count: 8674 },
      { type: "Antibody Capture", count: 20 },
    ]);
  });

  it("keeps every feature with all, or the chosen types (any case), value by value", async () => {
    const all = path.join(dir, "all.slaf");
    const s = await convertFile(CITESEQ, all, { featureTypes: ["all"] });
    const data = await readBack(all);
    expect(triples(data)).toEqual(expected(() => true));
    expect(data.config.metadata.expression_count).toBe(cs.entries.length);
    expect(data.genes.gene_id).toEqual(cs.names);
    expect(data.genes.gene_ids).toEqual(cs.ids);
    expect(s.featureTypes?.leftOut).toEqual([]);
    expect(s.notes).toContain("genes holds every feature type: Gene Expression (8,674), Antibody Capture (20)");

    const adt = path.join(dir, "adt.slaf");
    await convertFile(CITESEQ, adt, { featureTypes: ["antibody capture"] });
    const a = await readBack(adt);
    expect(triples(a)).toEqual(expected((t) => t === "Antibody Capture"));
    expect(a.genes.gene_id).toEqual(Array.from({ length: 20 }, (_, i) => `ADT_${i}`));
  });

  it("writes the left-out types as a dataset beside the output, with the same cells", async () => {
    const out = path.join(dir, "split.slaf");
    const summary = await convertFile(CITESEQ, out, { splitFeatureTypes: true });
    const sibling = path.join(dir, "split.antibody-capture.slaf");
    expect(summary.siblings).toEqual([
      {
        output: sibling,
        featureTypes: ["Antibody Capture"],
        nCells: 160,
        nGenes: 20,
        nnz: expected((t) => t === "Antibody Capture").length,
        valueType: "uint16",
      },
    ]);
    const main = await readBack(out);
    const side = await readBack(sibling);
    expect(main.genes.gene_id).toHaveLength(8674);
    expect(triples(side)).toEqual(expected((t) => t === "Antibody Capture"));
    expect(side.cells.cell_id).toEqual(main.cells.cell_id);
    expect(side.genes.feature_types).toEqual(new Array(20).fill("Antibody Capture"));
    expect(side.cells.cell_start_index).toHaveLength(160);
  });

  it("reads feature types from an MTX folder's features.tsv the same way", async () => {
    const d = path.join(dir, "citeseq-mtx");
    await fs.mkdir(d);
    const lines = cs.entries.map((e) => `${e.feature + 1} ${e.cell + 1} ${e.value}`);
    await fs.writeFile(
      path.join(d, "matrix.mtx.gz"),
      gzipSync(`%%MatrixMarket matrix coordinate integer general\n${cs.names.length} ${cs.barcodes.length} ${lines.length}\n${lines.join("\n")}\n`),
    );
    await fs.writeFile(path.join(d, "features.tsv.gz"), gzipSync(cs.names.map((n, i) => `${cs.ids[i]}\t${n}\t${cs.types[i]}`).join("\n") + "\n"));
    await fs.writeFile(path.join(d, "barcodes.tsv.gz"), gzipSync(cs.barcodes.join("\n") + "\n"));
    const out = path.join(dir, "mtx.slaf");
    const summary = await convertFile(d, out, { splitFeatureTypes: true });
    expect(summary.featureTypes).toEqual({ kept: ["Gene Expression"], leftOut: [{ type: "Antibody Capture", count: 20 }] });
    expect(triples(await readBack(out))).toEqual(expected((t) => t === "Gene Expression"));
    expect(triples(await readBack(path.join(dir, "mtx.antibody-capture.slaf")))).toEqual(expected((t) => t === "Antibody Capture"));
  });

  it("refuses a feature type the input does not have, naming those it has, and writes nothing", async () => {
    const out = path.join(dir, "peaks.slaf");
    const e = await failure(convertFile(CITESEQ, out, { featureTypes: ["Peaks"] }));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toBe('The input has no "Peaks" features; it has: Gene Expression (8,674), Antibody Capture (20)');
    expect(existsSync(out)).toBe(false);
    expect((await fs.readdir(dir)).filter((n) => n.includes("peaks.slaf"))).toEqual([]);
  });

  it("CLI: says what was left out, takes --feature-types and --split-feature-types", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    try {
      await convertCommand([CITESEQ, path.join(dir, "cli.slaf")]);
      await convertCommand([CITESEQ, path.join(dir, "cli-all.slaf"), "--feature-types", "all"]);
      await convertCommand([CITESEQ, path.join(dir, "cli-split.slaf"), "--split-feature-types"]);
    } finally {
      spy.mockRestore();
    }
    expect(lines[0]).toMatch(/^Converted 160 cells × 8,674 genes \(151,815 values, uint16\)/);
    expect(lines[1]).toMatch(
      /^Left out 20 Antibody Capture features \(only Gene Expression kept\): --feature-types all keeps them, --split-feature-types writes them beside /,
    );
    expect(lines[2]).toMatch(/^Converted 160 cells × 8,694 genes/);
    expect(lines[4]).toMatch(/^Wrote Antibody Capture: 160 cells × 20 features \([\d,]+ values, uint16\) to .*cli-split\.antibody-capture\.slaf$/);
    await expect(convertCommand([CITESEQ, path.join(dir, "cli-x.slaf"), "--feature-types"])).rejects.toThrow(/--feature-types needs/);
  });
});
