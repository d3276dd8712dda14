/**
 * `slaf-workbench loader` as a user runs it: the built CLI (dist/main/cli.mjs) in a child process on the real
 * PBMC 3k cells. The JSON batches are checked against the expression table read directly with LanceDB and
 * tokenized with createTokenizer; seeds, --no-shuffle, the table and bench outputs, and named errors.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenizer, csrFromCells, type TokenizerOptions } from "../../../main/services/loader";
import { loadPbmc, PROJECT_ROOT } from "../../fixtures/pbmc";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

const CLI = path.join(PROJECT_ROOT, "dist", "main", "cli.mjs");

let dir: string;
let root: string;
let userData: string;
/** Each cell's stored genes and values in storage order, read straight from the expression table. */
const cells = new Map<number, { genes: number[]; values: number[] }>();

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-cli-");
  root = path.join(dir, "pbmc.slaf");
  userData = path.join(dir, "user-data");
  await writePbmcSlaf(root);
  const db = await lancedb.connect(root);
  const expr = await db.openTable("expression");
  const t = await expr
    .query()
    .select(["cell_integer_id", "gene_integer_id", "value"])
    .toArrow({ maxBatchLength: 1 << 20 });
  const c = t.getChild("cell_integer_id")!;
  const g = t.getChild("gene_integer_id")!;
  const v = t.getChild("value")!;
  for (let r = 0; r < t.numRows; r++) {
    const id = Number(c.get(r));
    let cell = cells.get(id);
    if (!cell) cells.set(id, (cell = { genes: [], values: [] }));
    cell.genes.push(Number(g.get(r)));
    cell.values.push(Number(v.get(r)));
  }
  expr.close();
  db.close();
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function loader(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "loader", ...args], {
    encoding: "utf8",
    env: { ...process.env, SLAFWB_USER_DATA: userData },
    maxBuffer: 512 * 1024 * 1024,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface TokenBatch {
  cell_ids: number[];
  input_ids: number[][];
  attention_mask: boolean[][];
  values?: number[][];
}
interface RawJsonBatch {
  cell_ids: number[];
  x: { cell_integer_id: number[]; gene_integer_id: number[]; value: number[] };
}

function json<T>(args: string[]): { batches: T[] } {
  const r = loader([...args, "--format", "json"]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { batches: T[] };
}

/** What createTokenizer makes of one cell read directly from the table: its row of input ids and value tokens. */
function expected(o: TokenizerOptions, cellId: number): { inputIds: number[]; valueTokens: number[] | null } {
  const cell = cells.get(cellId)!;
  const b = createTokenizer(o).tokenize(csrFromCells([{ cellId, genes: cell.genes, values: cell.values }], "integer"));
  return { inputIds: Array.from(b.inputIds), valueTokens: b.valueTokens ? Array.from(b.valueTokens) : null };
}

const common = ["--batch-size", "8", "--seed", "3", "--vocab-size", "50000", "--n-expression-bins", "10"];

describe("loader --format json: batches equal the tokenizer over the table's own rows", () => {
  const configs: [TokenizerOptions["tokenizer"], TokenizerOptions["mode"], number][] = [
    ["geneformer", "canonical", 64],
    ["geneformer", "slafdb-0.5.2", 900],
    ["scgpt", "slafdb-0.5.2", 100],
    ["scgpt", "canonical", 1200],
  ];
  for (const [tokenizer, mode, maxGenes] of configs) {
    it(`${tokenizer} ${mode} max_genes ${maxGenes}: 3 batches of 8 cells`, () => {
      const doc = json<TokenBatch>([root, "--tokenizer", tokenizer, "--mode", mode, "--max-genes", String(maxGenes), "--batches", "3", ...common]);
      expect(doc.batches).toHaveLength(3);
      const o: TokenizerOptions = { tokenizer, mode, maxGenes, vocabSize: 50_000, nExpressionBins: 10 };
      const seqLength = tokenizer === "scgpt" ? maxGenes + 2 : maxGenes;
      const seen = new Set<number>();
      for (const b of doc.batches) {
        expect(b.cell_ids).toHaveLength(8);
        expect(b.input_ids).toHaveLength(8);
        expect(b.attention_mask).toHaveLength(8);
        expect("values" in b).toBe(tokenizer === "scgpt");
        b.cell_ids.forEach((id, row) => {
          expect(seen.has(id), `cell ${id} twice`).toBe(false);
          seen.add(id);
          const want = expected(o, id);
          expect(b.input_ids[row]).toHaveLength(seqLength);
          expect(b.input_ids[row], `cell ${id}`).toEqual(want.inputIds);
          expect(b.attention_mask[row]).toEqual(want.inputIds.map((t) => t !== 0));
          if (tokenizer === "scgpt") expect(b.values![row], `cell ${id} values`).toEqual(want.valueTokens);
        });
      }
      // Shuffled: the 24 cells are not simply the first 24.
      expect([...seen].sort((x, y) => x - y)).not.toEqual(Array.from({ length: 24 }, (_, i) => i));
    });
  }

  it("raw: COO rows per batch, each cell's genes and values as stored", () => {
    const doc = json<RawJsonBatch>([root, "--tokenizer", "raw", "--batches", "2", ...common]);
    expect(doc.batches).toHaveLength(2);
    for (const b of doc.batches) {
      expect(b.cell_ids).toHaveLength(8);
      const { cell_integer_id: rowCells, gene_integer_id: genes, value: values } = b.x;
      expect(genes).toHaveLength(rowCells.length);
      expect(values).toHaveLength(rowCells.length);
      for (const id of b.cell_ids) {
        const rows = rowCells.map((c, k) => (c === id ? k : -1)).filter((k) => k >= 0);
        expect({ genes: rows.map((k) => genes[k]), values: rows.map((k) => values[k]) }, `cell ${id}`).toEqual(cells.get(id));
      }
      expect(new Set(rowCells)).toEqual(new Set(b.cell_ids));
    }
  });
});

describe("loader: seeds and order", () => {
  const base = () => [root, "--tokenizer", "geneformer", "--mode", "canonical", "--max-genes", "32", "--batch-size", "16", "--batches", "4"];

  it("the same seed gives the same output, another seed another", () => {
    const args = base();
    const a = loader([...args, "--seed", "11", "--format", "json"]);
    const b = loader([...args, "--seed", "11", "--format", "json"]);
    const c = loader([...args, "--seed", "12", "--format", "json"]);
    expect(a.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const ids = (out: string) => (JSON.parse(out) as { batches: TokenBatch[] }).batches.flatMap((x) => x.cell_ids);
    expect(ids(c.stdout)).toHaveLength(64);
    expect(ids(c.stdout)).not.toEqual(ids(a.stdout));
  });

  it("--no-shuffle gives ascending cell ids from the first cell", () => {
    const doc = json<TokenBatch>([...base(), "--no-shuffle"]);
    expect(doc.batches.flatMap((x) => x.cell_ids)).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it("stops at the end of the run: 160 cells in batches of 64 are 3 batches, the last short", () => {
    const doc = json<TokenBatch>([root, "--tokenizer", "raw", "--batch-size", "64", "--batches", "10", "--seed", "1"]);
    expect(doc.batches.map((b) => b.cell_ids.length)).toEqual([64, 64, 32]);
    expect(new Set(doc.batches.flatMap((b) => b.cell_ids)).size).toBe(160);
  });
});

describe("loader --format table and --bench", () => {
  it("the table names each batch's cells and decodes their first tokens to gene symbols", () => {
    const r = loader([root, "--tokenizer", "geneformer", "--mode", "canonical", "--max-genes", "16", "--batch-size", "4", "--batches", "2", "--no-shuffle"]);
    expect(r.status, r.stderr).toBe(0);
    const pbmc = loadPbmc();
    // Cell 0's most expressed gene (ties by lower id) is the first token after CLS in canonical mode.
    const c0 = cells.get(0)!;
    let top = 0;
    c0.values.forEach((v, k) => {
      if (v > c0.values[top] || (v === c0.values[top] && c0.genes[k] < c0.genes[top])) top = k;
    });
    expect(r.stdout).toContain("batch 0 (epoch 0");
    expect(r.stdout).toContain("batch 1 (epoch 0");
    const line = r.stdout.split("\n").find((l) => /^\s+0\s/.test(l));
    expect(line).toBeDefined();
    expect(line).toContain(`[CLS] ${pbmc.genes[c0.genes[top]]} `);
  });

  it("--bench prints cells/s, tokens/s and batches; as JSON with --format json", () => {
    const r = loader([root, "--tokenizer", "scgpt", "--mode", "slafdb-0.5.2", "--max-genes", "64", "--bench", "0.5", "--format", "json"]);
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout) as { cells: number; batches: number; tokens: number; cellsPerSecond: number; tokensPerSecond: number; seconds: number };
    expect(m.batches).toBeGreaterThan(0);
    expect(m.cells).toBeGreaterThan(0);
    expect(m.tokens).toBe(m.cells * 66);
    expect(m.cellsPerSecond).toBeCloseTo(m.cells / m.seconds, 3);
    const t = loader([root, "--tokenizer", "raw", "--bench", "0.3"]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/cells\/s\s+[\d,]+/);
    expect(t.stdout).toMatch(/batches\s+[\d,]+/);
  });
});

describe("loader: errors", () => {
  const bad: [string[], string][] = [
    [["--tokenizer", "bert"], "--tokenizer"],
    [["--mode", "fast"], "--mode"],
    [["--batch-size", "0"], "--batch-size"],
    [["--batch-size", "abc"], "--batch-size"],
    [["--max-genes", "1.5"], "--max-genes"],
    [["--seed", "-1"], "--seed"],
    [["--vocab-size", "4"], "--vocab-size"],
    [["--format", "csv"], "--format"],
    [["--bench", "0"], "--bench"],
    [["--batches"], "--batches"],
    [["--no-shuffle=yes"], "--no-shuffle"],
    [["--shuffle-harder"], "--shuffle-harder"],
  ];
  for (const [flags, named] of bad) {
    it(`${flags.join(" ")} is a usage error naming ${named}`, () => {
      const r = loader([root, ...flags]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(named);
      expect(r.stderr).toContain("Usage: slaf-workbench loader");
    });
  }

  it("no dataset, or two, is a usage error", () => {
    expect(loader([]).status).toBe(2);
    const two = loader([root, root]);
    expect(two.status).toBe(2);
    expect(two.stderr).toContain("one DATASET");
  });

  it("a missing dataset prints its AppError and exits 1", () => {
    const r = loader([path.join(dir, "nope.slaf")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^DATASET_NOT_FOUND: .*nope\.slaf/);
  });
});
