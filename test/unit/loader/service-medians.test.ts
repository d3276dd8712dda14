/**
 * Geneformer median normalization (canonical mode, geneMediansColumn): through the dispatcher and the built CLI on a
 * dataset small enough to rank by hand (medians-fixture.ts), plus the named errors for every misuse.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoaderBatch, LoaderCellExplain, LoaderComparison, LoaderInfo, LoaderOptions } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { PROJECT_ROOT } from "../../fixtures/pbmc";
import { failure, unwrap } from "../../fixtures/result";
import { testServices } from "../../fixtures/services";
import { tempDir } from "../../fixtures/slaf-fixture";
import { BY_MEDIANS, BY_VALUE, MEDIAN_CELLS, MEDIAN_GENES, MEDIANS, writeMediansSlaf } from "./medians-fixture";
import { options, rows, table, values } from "./service-helpers";

const CLI = path.join(PROJECT_ROOT, "dist", "main", "cli.mjs");
const MAX_GENES = 8;

let dir: string;
let root: string;
let services: Services;
let datasetId: string;
const call = (ns: string, method: string, arg: unknown) => services.dispatcher.call(ns, method, arg, "page-medians");

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-medians-");
  root = path.join(dir, "medians.slaf");
  await writeMediansSlaf(root);
  services = testServices(path.join(dir, "user"));
  datasetId = (unwrap(await call("datasets", "open", { uri: root })) as { datasetId: string }).datasetId;
});

afterAll(async () => {
  await services?.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

const base: Partial<LoaderOptions> = { tokenizer: "geneformer", mode: "canonical", maxGenes: MAX_GENES, batchSize: 3, shuffle: false };

/** [CLS, genes…, SEP] padded to max_genes. */
function expectedRow(genes: number[]): number[] {
  const r = [1, ...genes.map((g) => g + 4), 2];
  return [...r, ...Array<number>(MAX_GENES - r.length).fill(0)];
}

async function withLoader<T>(over: Partial<LoaderOptions>, body: (info: LoaderInfo) => Promise<T>): Promise<T> {
  const info = unwrap(await call("loader", "start", { datasetId, options: options({ ...base, ...over }) })) as LoaderInfo;
  try {
    return await body(info);
  } finally {
    await call("loader", "stop", { loaderId: info.loaderId });
  }
}

async function firstBatch(loaderId: string) {
  return table((unwrap(await call("loader", "batch", { loaderId, index: 0 })) as LoaderBatch).arrow);
}

describe("ranking by value / median (canonical Geneformer)", () => {
  it("ranks by value / median, ties by gene id, and drops genes whose median is zero or missing", async () => {
    await withLoader({ geneMediansColumn: "gene_median" }, async (info) => {
      expect(info.options.geneMediansColumn).toBe("gene_median");
      const t = await firstBatch(info.loaderId);
      expect(values(t, "cell_integer_id")).toEqual([0, 1, 2]);
      expect(rows(t, "input_ids")).toEqual(BY_MEDIANS.map(expectedRow));
      // n_genes counts what survived the filters (cell 2 keeps none), and the values are the stored ones.
      expect(values(t, "n_genes")).toEqual([4, 2, 0]);
      expect(rows(t, "values")[0].slice(1, 5)).toEqual([4, 1, 4, 8]);
    });
  });

  it("without a medians column the same cells rank by value", async () => {
    await withLoader({}, async (info) => {
      expect(info.options.geneMediansColumn).toBeNull();
      expect(rows(await firstBatch(info.loaderId), "input_ids")).toEqual(BY_VALUE.map(expectedRow));
    });
  });

  it("the info lists the numeric genes columns (not the ids, strings or booleans)", async () => {
    await withLoader({}, async (info) => expect(info.medianColumns).toEqual(["gene_median", "n_cells"]));
  });

  it("explaining a cell shows value / median as its score", async () => {
    await withLoader({ geneMediansColumn: "gene_median" }, async (info) => {
      await firstBatch(info.loaderId);
      const ex = unwrap(await call("loader", "cell", { loaderId: info.loaderId, index: 0, row: 0 })) as LoaderCellExplain;
      const e = table(ex.arrow);
      expect(values(e, "gene_integer_id")).toEqual(BY_MEDIANS[0]);
      expect(values(e, "symbol")).toEqual(BY_MEDIANS[0].map((g) => MEDIAN_GENES[g]));
      const cell = MEDIAN_CELLS[0];
      const stored = BY_MEDIANS[0].map((g) => cell.values[cell.genes.indexOf(g)]);
      expect(values(e, "value")).toEqual(stored);
      expect(values(e, "score")).toEqual(BY_MEDIANS[0].map((g, k) => stored[k] / (MEDIANS[g] as number)));
    });
  });

  it("side by side: canonical uses the medians, and genes only slafdb-0.5.2 keeps are named", async () => {
    await withLoader({ geneMediansColumn: "gene_median" }, async (info) => {
      const shown = (unwrap(await call("loader", "batch", { loaderId: info.loaderId, index: 0 })) as LoaderBatch).genes;
      const cmp = unwrap(await call("loader", "compare", { loaderId: info.loaderId, index: 0 })) as LoaderComparison;
      expect(rows(table(cmp.canonical), "input_ids")).toEqual(BY_MEDIANS.map(expectedRow));
      // slafdb-0.5.2: every stored gene in storage order, SEP lost only past max_genes − 2.
      expect(rows(table(cmp.slafdb), "input_ids")).toEqual(MEDIAN_CELLS.map((c) => expectedRow(c.genes)));
      // G3 and G4 have no median: absent from the shown batch, present in the slafdb-0.5.2 rows, named all the same.
      expect(values(table(shown), "gene_integer_id")).toEqual([0, 1, 2, 5]);
      const genes = table(cmp.genes);
      expect(values(genes, "gene_integer_id")).toEqual([0, 1, 2, 3, 4, 5]);
      expect(values(genes, "symbol")).toEqual(MEDIAN_GENES);
    });
  });
});

describe("misuse is LOADER_OPTIONS_INVALID naming geneMediansColumn", () => {
  const cases: [string, Partial<LoaderOptions>, RegExp][] = [
    ["slafdb-0.5.2 mode", { mode: "slafdb-0.5.2" }, /SLAF 0\.5\.2/],
    ["scGPT", { tokenizer: "scgpt" }, /Geneformer tokenizer only/],
    ["raw mode", { tokenizer: "raw" }, /Geneformer tokenizer only/],
    ["a column the genes table lacks", { geneMediansColumn: "nope" }, /no column "nope".*gene_median, n_cells/],
    ["a string column", { geneMediansColumn: "gene_id" }, /"gene_id" is not a numeric column.*gene_median, n_cells/],
    ["a boolean column", { geneMediansColumn: "highly_variable" }, /"highly_variable" is not a numeric column/],
  ];
  for (const [what, over, message] of cases) {
    it(what, async () => {
      const e = failure(await call("loader", "start", { datasetId, options: options({ ...base, geneMediansColumn: "gene_median", ...over }) }));
      expect(e.code).toBe("LOADER_OPTIONS_INVALID");
      expect(e.message).toMatch(/^Option geneMediansColumn: /);
      expect(e.message).toMatch(message);
      expect(e.detail).toBe("field: options.geneMediansColumn");
    });
  }

  it("the schema refuses a medians column that is not a string or null", async () => {
    const e = failure(await call("loader", "start", { datasetId, options: options({ ...base, geneMediansColumn: 3 as never }) }));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toContain("geneMediansColumn");
  });
});

describe("slaf-workbench loader --gene-medians-column", () => {
  function cli(args: string[]) {
    const r = spawnSync(process.execPath, [CLI, "loader", root, ...args], {
      encoding: "utf8",
      env: { ...process.env, SLAFWB_USER_DATA: path.join(dir, "cli-user") },
      timeout: 120_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  const flags = ["--max-genes", String(MAX_GENES), "--batch-size", "3", "--no-shuffle", "--batches", "1"];

  it("prints the batches ranked by value / median", () => {
    const r = cli([...flags, "--gene-medians-column", "gene_median", "--format", "json"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { batches: { cell_ids: number[]; input_ids: number[][] }[] };
    expect(doc.batches[0].cell_ids).toEqual([0, 1, 2]);
    expect(doc.batches[0].input_ids).toEqual(BY_MEDIANS.map(expectedRow));
    const plain = JSON.parse(cli([...flags, "--format", "json"]).stdout) as { batches: { input_ids: number[][] }[] };
    expect(plain.batches[0].input_ids).toEqual(BY_VALUE.map(expectedRow));
  });

  it("the table says what the genes were ranked by and names them", () => {
    const r = cli([...flags, "--gene-medians-column", "gene_median"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("geneformer (canonical, ranked by value / gene_median)");
    expect(r.stdout).toContain("[CLS] G1 G2 G0 G5 [SEP]");
  });

  it("outside canonical Geneformer it is a usage error naming the flag", () => {
    for (const extra of [
      ["--mode", "slafdb-0.5.2"],
      ["--tokenizer", "scgpt"],
    ]) {
      const r = cli([...flags, "--gene-medians-column", "gene_median", ...extra]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("--gene-medians-column");
      expect(r.stderr).toContain("Usage: slaf-workbench loader");
    }
  });

  it("a column that cannot hold medians prints the named error and exits 1", () => {
    const r = cli([...flags, "--gene-medians-column", "gene_id"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^LOADER_OPTIONS_INVALID: Option geneMediansColumn: genes column "gene_id" is not a numeric column/);
  });
});
