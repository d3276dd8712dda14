/**
 * The Python snippet: the lines that make SLAF reproduce each tokenizer, the notes where SLAF 0.5.2 cannot, and
 * hostile URIs that must stay inside their string literal (checked by decoding the literal, and by Python itself
 * when python3 is installed).
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { pyString, pythonSnippet } from "../../../shared/loader/snippet";
import { LOADER_DEFAULTS, type LoaderInfo, type LoaderOptions } from "../../../shared/ipc/types/loader";

function info(options: Partial<LoaderOptions> = {}, uri = "/data/pbmc.slaf", revision: string | null = null): LoaderInfo {
  const o = { ...LOADER_DEFAULTS, ...options };
  return {
    loaderId: "loader-1",
    datasetId: "dataset-1",
    uri,
    revision,
    options: o,
    seqLength: o.tokenizer === "raw" ? 0 : o.tokenizer === "scgpt" ? o.maxGenes + 2 : o.maxGenes,
    nCells: 160,
    nRows: 151_815,
    nFragments: 1,
    nRanges: 4,
    nScanners: 4,
    workers: 2,
    labelColumns: ["cell_type"],
    medianColumns: [],
    batchesPerEpoch: 5,
  };
}

/** Decodes a Python double-quoted literal made of the escapes pyString emits; anything else fails the test. */
function decodePyLiteral(literal: string): string {
  expect(literal.startsWith('"') && literal.endsWith('"') && literal.length >= 2).toBe(true);
  let out = "";
  for (let i = 1; i < literal.length - 1; i++) {
    const ch = literal[i];
    expect(ch === '"', `unescaped quote at ${i} in ${literal}`).toBe(false);
    expect(ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) < 0x7f, `raw non-ASCII at ${i}`).toBe(true);
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const kind = literal[++i];
    if (kind === "\\" || kind === '"') out += kind;
    else if (kind === "x" || kind === "u" || kind === "U") {
      const width = kind === "x" ? 2 : kind === "u" ? 4 : 8;
      const digits = literal.slice(i + 1, i + 1 + width);
      expect(digits).toMatch(new RegExp(`^[0-9a-f]{${width}}$`));
      const cp = parseInt(digits, 16);
      out += kind === "u" ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      i += width;
    } else throw new Error(`unexpected escape \\${kind} in ${literal}`);
  }
  return out;
}

/** The value assigned to NAME on its own line (`NAME = "..."`, optionally followed by a comment). */
function assigned(snippet: string, name: string): string {
  const lines = snippet.split("\n").filter((l) => l.startsWith(`${name} = `));
  expect(lines).toHaveLength(1);
  const m = /^[A-Z_]+ = ("(?:[^"\\]|\\.)*")(\s+#.*)?$/.exec(lines[0]);
  expect(m, lines[0]).not.toBeNull();
  return decodePyLiteral(m![1]);
}

const hasPython = spawnSync("python3", ["-c", "pass"]).status === 0;

/** Python's own reading of the snippet: it must parse, and NAME's literal must evaluate to the given string. */
function pythonReads(snippet: string, names: string[]): Record<string, string> {
  const program = [
    "import ast, json, sys",
    "tree = ast.parse(sys.stdin.read())",
    "out = {}",
    "for node in tree.body:",
    "    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):",
    "        out[node.targets[0].id] = ast.literal_eval(node.value) if isinstance(node.value, ast.Constant) else None",
    "print(json.dumps(out))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", program], { input: snippet, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const parsed = JSON.parse(r.stdout) as Record<string, string>;
  return Object.fromEntries(names.map((n) => [n, parsed[n]]));
}

describe("pythonSnippet: each tokenizer", () => {
  it("Geneformer: imports, dataset, tokenizer options and the batch keys", () => {
    const s = pythonSnippet(info({ tokenizer: "geneformer", mode: "slafdb-0.5.2", maxGenes: 2048, vocabSize: 50_000, batchSize: 32 }));
    const lines = s.split("\n");
    expect(lines).toContain("from slaf import SLAFArray");
    expect(lines).toContain("from slaf.ml.dataloaders import SLAFDataLoader");
    expect(lines).toContain("slaf_array = SLAFArray(DATASET)");
    expect(assigned(s, "DATASET")).toBe("/data/pbmc.slaf");
    expect(lines).toContain('    tokenizer_type="geneformer",');
    expect(lines).toContain("    max_genes=2048,");
    expect(lines).toContain("    vocab_size=50000,");
    expect(lines).toContain("    batch_size=32,");
    expect(lines).toContain("    n_epochs=1,");
    expect(s).not.toContain("raw_mode");
    expect(s).toContain('input_ids = batch["input_ids"]  # int64 [batch, 2048]');
    expect(s).not.toContain('batch["values"]');
    // Seed 42 and slafdb mode: no note about either being impossible.
    expect(s).not.toMatch(/cannot take/);
    expect(s).not.toMatch(/canonical mode/);
    if (hasPython) pythonReads(s, []);
  });

  it("scGPT: n_expression_bins, the values tensor, sequence max_genes + 2", () => {
    const s = pythonSnippet(info({ tokenizer: "scgpt", mode: "slafdb-0.5.2", maxGenes: 1200, nExpressionBins: 51 }));
    expect(s).toContain('    tokenizer_type="scgpt",\n');
    expect(s).toContain("    max_genes=1200,\n");
    expect(s).toContain("    n_expression_bins=51,\n");
    expect(s).toContain('values = batch["values"]');
    expect(s).toContain("int64 [batch, 1202]");
    if (hasPython) pythonReads(s, []);
  });

  it("raw: raw_mode=True, no tokenizer options, COO rows from batch['x']", () => {
    const s = pythonSnippet(info({ tokenizer: "raw", batchSize: 64 }));
    expect(s).toContain("    raw_mode=True,");
    expect(s).not.toContain("tokenizer_type");
    expect(s).not.toContain("max_genes=");
    expect(s).toContain("    batch_size=64,");
    expect(s).toContain('x = batch["x"]');
    expect(s).not.toContain('batch["input_ids"]');
    if (hasPython) pythonReads(s, []);
  });
});

describe("pythonSnippet: what SLAF 0.5.2 cannot reproduce is said", () => {
  it("a seed other than 42, canonical mode, normalize_total and log1p, shuffle off", () => {
    const s = pythonSnippet(info({ seed: 7, mode: "canonical", normalizeTotal: 10_000, log1p: true, shuffle: false, epochs: 3 }));
    expect(s).toContain("# This run used seed 7, which SLAF 0.5.2 cannot take.");
    expect(s).toMatch(/# This run used the workbench's canonical mode/);
    expect(s).toContain("    # expression_preprocessor=ExpressionPreprocessor(normalize_total_target=10000, log1p=True),");
    expect(s).toContain("# from slaf.ml.expression_preprocessor import ExpressionPreprocessor");
    expect(s).toContain("    use_mixture_of_scanners=False,\n    by_fragment=False,\n");
    expect(s).toContain("    n_epochs=3,");
    expect(s).toContain("seed=7 shuffle=off epochs=3 normalize_total=10000 log1p");
    if (hasPython) pythonReads(s, []);
  });

  it("gene medians: named in a comment that says SLAF 0.5.2 has none, never as an argument", () => {
    const s = pythonSnippet(info({ mode: "canonical", geneMediansColumn: "median\nimport os" }));
    expect(s).toContain("gene_medians=median?import os");
    expect(s).toContain("# Genes were ranked by value / median, with each gene's nonzero median from the genes column median?import os");
    expect(s).toContain("SLAF 0.5.2 has no medians");
    expect(s.split("\n").filter((l) => l.includes("median") && !l.startsWith("#"))).toEqual([]);
    if (hasPython) pythonReads(s, []);
    expect(pythonSnippet(info({ mode: "canonical" }))).not.toContain("median");
  });

  it("slafdb-0.5.2 mode says each cell's tokens match, and never claims the batch order does", () => {
    const s = pythonSnippet(info({ mode: "slafdb-0.5.2" }));
    expect(s).toContain("# slafdb-0.5.2 mode: each cell's tokens equal SLAF 0.5.2's");
    expect(s).toContain("compare cells by cell_ids");
  });
});

describe("pythonSnippet: remote datasets", () => {
  it("hf:// with a revision: SLAF's path without @rev, the commit checked against the default branch", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const s = pythonSnippet(info({}, "hf://datasets/acme/atlas/data/pbmc.slaf@v1.0", sha));
    expect(assigned(s, "DATASET")).toBe("hf://datasets/acme/atlas/data/pbmc.slaf");
    expect(assigned(s, "REPO_ID")).toBe("acme/atlas");
    expect(assigned(s, "REVISION")).toBe(sha);
    expect(s).toContain("head = HfApi().dataset_info(REPO_ID).sha");
    expect(s).toContain('# PATH_IN_REPO = "data/pbmc.slaf"');
    if (hasPython)
      expect(pythonReads(s, ["DATASET", "REPO_ID", "REVISION"])).toEqual({
        DATASET: "hf://datasets/acme/atlas/data/pbmc.slaf",
        REPO_ID: "acme/atlas",
        REVISION: sha,
      });
  });

  it("hf:// at the repository root and without a revision", () => {
    const s = pythonSnippet(info({}, "hf://datasets/acme/atlas", null));
    expect(assigned(s, "DATASET")).toBe("hf://datasets/acme/atlas");
    expect(s).not.toContain("REVISION");
  });

  it("s3:// names the environment SLAF takes credentials from", () => {
    const s = pythonSnippet(info({}, "s3://bucket/prefix/pbmc.slaf"));
    expect(assigned(s, "DATASET")).toBe("s3://bucket/prefix/pbmc.slaf");
    expect(s).toContain("AWS_ENDPOINT_URL");
  });
});

describe("pythonSnippet: hostile URIs stay inside their literal", () => {
  const hostile = [
    '/data/a"b.slaf',
    "/data/a\\b\\\\.slaf\\",
    '/data/x\\"\nimport os; os.system("rm -rf ~")\n#',
    "/data/\r\n\u2028\u0085\u000b\u000c\u0000end",
    "/data/'''\"\"\"{}\\N{BULLET}%s",
    "/data/é中文🧬\ud800lone",
  ];
  for (const uri of hostile) {
    it(`${JSON.stringify(uri)}`, () => {
      const s = pythonSnippet(info({}, uri));
      expect(assigned(s, "DATASET")).toBe(uri);
      // One line per intended line: the clean snippet and the hostile one differ only in the literal.
      expect(s.split("\n").length).toBe(pythonSnippet(info({}, "/x")).split("\n").length);
      expect(s).toMatch(/^[\x20-\x7e\n]*$/);
      if (hasPython) expect(pythonReads(s, ["DATASET"])).toEqual({ DATASET: uri });
    });
  }

  it("a hostile hf:// revision and path", () => {
    const rev = 'main"\nimport os\n';
    const s = pythonSnippet(info({}, 'hf://datasets/acme/at"las/p\n"x@v', rev));
    expect(assigned(s, "REVISION")).toBe(rev);
    expect(assigned(s, "DATASET")).toBe('hf://datasets/acme/at"las/p\n"x');
    expect(assigned(s, "REPO_ID")).toBe('acme/at"las');
    if (hasPython) expect(pythonReads(s, ["REVISION"])).toEqual({ REVISION: rev });
  });

  it("pyString escapes exactly: quotes, backslashes, controls, BMP and astral code points", () => {
    expect(pyString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(pyString("\n\t\u0000\u00e9")).toBe('"\\x0a\\x09\\x00\\xe9"');
    expect(pyString("\u4e2d\ud800")).toBe('"\\u4e2d\\ud800"');
    expect(pyString("🧬")).toBe('"\\U0001f9ec"');
  });
});
