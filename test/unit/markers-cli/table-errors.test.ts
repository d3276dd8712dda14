/**
 * `slaf-workbench markers` for people and on bad input: the aligned table (symbols, score, log2FC, p-values,
 * fractions) shows the JSON's genes, and wrong columns, values and flags end with a named message and a non-zero
 * exit, never a stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useMarkersCli } from "./helpers";

const env = useMarkersCli({ beforeAll, afterAll });

describe("markers --format table", () => {
  it("prints the comparison and aligned columns with the JSON's genes in its order", async () => {
    const args = ["--groupby", "cell_type", "--group", "CD14+ Mono", "--top", "12", env.root];
    const r = await env.cli(args);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^pbmc(\.slaf)?: 8,674 genes, 151,815 expression rows read in [\d,]+ ms$/);
    expect(lines[1]).toMatch(/log1p\(CP10k\)/);
    expect(lines[3]).toBe('cell_type = "CD14+ Mono" (20 cells) vs rest (140 cells): top 12 of 8,674 genes');
    const header = lines[4];
    expect(header.trim().split(/\s+/)).toEqual(["rank", "symbol", "score", "log2FC", "pval", "padj", "pct_group", "pct_ref"]);
    const rows = lines.slice(5);
    expect(rows).toHaveLength(12);
    // Aligned: every row as wide as the header, the numbers right-aligned under their titles.
    for (const row of rows) expect(row.length).toBe(header.length);
    const scoreEnd = header.indexOf("score") + "score".length;
    for (const row of rows) expect(row[scoreEnd - 1]).toMatch(/\d/);

    const doc = await env.json(args);
    rows.forEach((row, i) => {
      const cells = row.trim().split(/\s+/);
      expect(cells[0]).toBe(String(i + 1));
      expect(cells[1]).toBe(doc.genes[i].gene_id);
      expect(Number(cells[2])).toBeCloseTo(doc.genes[i].score!, 2);
      expect(Number(cells[3])).toBeCloseTo(doc.genes[i].logfoldchange!, 2);
      expect(cells[6]).toBe(`${(doc.genes[i].pct_group! * 100).toFixed(1)}%`);
      expect(cells[7]).toBe(`${(doc.genes[i].pct_reference! * 100).toFixed(1)}%`);
    });
  });

  it("--all prints one block per group", async () => {
    const r = await env.cli(["--groupby", "cell_type", "--all", "--top", "3", env.root]);
    expect(r.code, r.stderr).toBe(0);
    const blocks = r.stdout.split("\n").filter((l) => /^cell_type = ".*" \(20 cells\) vs rest \(140 cells\): top 3 of 8,674 genes$/.test(l));
    expect(blocks).toHaveLength(8);
  });
});

describe("markers on bad input", () => {
  const base = ["--groupby", "cell_type", "--group", "B"];

  it("an unknown column or value: the service's MARKERS_INVALID message, exit 1", async () => {
    const column = await env.cli(["--groupby", "no_such_column", "--group", "B", env.root]);
    expect(column.code).toBe(1);
    expect(column.stderr).toMatch(/^MARKERS_INVALID: .*no_such_column/m);
    expect(column.stdout).toBe("");
    const value = await env.cli(["--groupby", "cell_type", "--group", "Platelets", env.root]);
    expect(value.code).toBe(1);
    expect(value.stderr).toMatch(/^MARKERS_INVALID: .*Platelets/m);
    const reference = await env.cli([...base, "--reference", "Megakaryocytes", env.root]);
    expect(reference.code).toBe(1);
    expect(reference.stderr).toMatch(/^MARKERS_INVALID: .*Megakaryocytes/m);
    for (const r of [column, value, reference]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a missing dataset: its named error", async () => {
    const r = await env.cli([...base, `${env.root}-missing`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^[A-Z_]+: .*pbmc\.slaf-missing/m);
  });

  const usage: [string, string[], RegExp][] = [
    ["no --groupby", ["--group", "B"], /markers needs --groupby COLUMN/],
    ["no --group", ["--groupby", "cell_type"], /markers needs --group VALUE \(or --all\)/],
    ["--all with --group", ["--groupby", "cell_type", "--group", "B", "--all"], /--all compares every category/],
    ["a bad --format", [...base, "--format", "xml"], /--format must be one of table, json, got "xml"/],
    ["a bad --top", [...base, "--top", "-3"], /--top needs a whole number from 0 to/],
    ["a bad --normalization", [...base, "--normalization", "zscore"], /--normalization must be one of auto, log1p_cp10k, none/],
    ["a bad --min-pct", [...base, "--min-pct", "2"], /--min-pct needs a number from 0 to 1, got "2"/],
    ["an unknown flag", [...base, "--groups", "B"], /Unknown flag --groups/],
    ["an empty --group", ["--groupby", "cell_type", "--group="], /--group needs a category of the column/],
  ];
  for (const [what, args, message] of usage) {
    it(`${what}: the usage message, exit 2`, async () => {
      const r = await env.cli([...args, env.root]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("Usage: slaf-workbench markers DATASET");
      expect(r.stdout).toBe("");
    });
  }

  it("no DATASET: the usage message", async () => {
    const r = await env.cli(base);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/markers needs a DATASET/);
  });
});
