/**
 * The Python that reproduces a dataloader preview with SLAF 0.5.2 (`SLAFArray` + `SLAFDataLoader`, constructor as
 * in ../shared/notes/slaf-format.md §5.1): same dataset, revision and options, with a comment wherever SLAF 0.5.2
 * cannot do what the workbench did (seed, canonical mode, normalize_total/log1p, gene medians, shuffle off, hf://
 * revisions).
 *
 * Strings from outside (URI, revision) only ever appear inside Python string literals built by `pyString`, which
 * escapes everything but printable ASCII, so no URI can end the literal, add a line or smuggle code.
 */
import type { LoaderInfo } from "../ipc/types/loader";

/** A Python str literal (double quotes, pure ASCII) whose value is exactly `s`, lone surrogates included. */
export function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++; // a well-formed surrogate pair: one code point, two UTF-16 units
    if (cp === 0x22) out += '\\"';
    else if (cp === 0x5c) out += "\\\\";
    else if (cp >= 0x20 && cp < 0x7f) out += String.fromCharCode(cp);
    else if (cp <= 0xff) out += `\\x${hex(cp, 2)}`;
    else if (cp <= 0xffff) out += `\\u${hex(unit, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Text for a Python comment: printable ASCII only, so it cannot end the comment's line. */
function commentSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}

/** A number for Python source; options are validated before a loader starts, this only guards the text. */
function pyNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`Not a finite number: ${n}`);
  return String(n);
}

interface HfLocation {
  repoId: string;
  /** The dataset's folder inside the repository ("" for the root). */
  pathInRepo: string;
  /** The hf:// path SLAF opens (no @revision: SLAF 0.5.2 would take it as part of the path). */
  path: string;
  /** Revision written in the URI, if any. */
  uriRevision: string | null;
}

function hfLocation(uri: string): HfLocation | null {
  if (!uri.startsWith("hf://")) return null;
  const at = /@([^/]*)$/.exec(uri);
  const path = at ? uri.slice(0, at.index) : uri;
  const parts = path
    .slice("hf://".length)
    .split("/")
    .filter((p) => p !== "");
  const rest = parts[0] === "datasets" ? parts.slice(1) : parts;
  return { repoId: rest.slice(0, 2).join("/"), pathInRepo: rest.slice(2).join("/"), path, uriRevision: at ? at[1] : null };
}

function datasetLines(info: LoaderInfo): string[] {
  const hf = hfLocation(info.uri);
  if (!hf) {
    const lines = [`DATASET = ${pyString(info.uri)}`];
    if (info.uri.startsWith("s3://")) {
      lines.unshift(
        "# SLAF reads s3:// with credentials and endpoint from the environment: AWS_ACCESS_KEY_ID,",
        "# AWS_SECRET_ACCESS_KEY, AWS_REGION, and AWS_ENDPOINT_URL for S3-compatible stores.",
      );
    }
    return [...lines, "slaf_array = SLAFArray(DATASET)"];
  }
  const revision = info.revision ?? hf.uriRevision;
  const lines = [`DATASET = ${pyString(hf.path)}`];
  if (revision === null) return [...lines, "slaf_array = SLAFArray(DATASET)"];
  return [
    ...lines,
    `REPO_ID = ${pyString(hf.repoId)}`,
    `REVISION = ${pyString(revision)}  # the commit the workbench read`,
    "# SLAF 0.5.2 opens hf:// paths on the repository's default branch only (no revision option).",
    "# Check that the default branch still points at the workbench's commit:",
    "from huggingface_hub import HfApi",
    "",
    "head = HfApi().dataset_info(REPO_ID).sha",
    "if head != REVISION:",
    '    print(f"warning: the default branch is at {head}, the workbench read {REVISION}")',
    "slaf_array = SLAFArray(DATASET)",
    "# To read exactly that commit instead, download the dataset at it and open the local copy:",
    "# import os",
    "# from huggingface_hub import snapshot_download",
    ...(hf.pathInRepo
      ? [
          `# PATH_IN_REPO = ${pyString(hf.pathInRepo)}`,
          '# local = snapshot_download(REPO_ID, repo_type="dataset", revision=REVISION, allow_patterns=[PATH_IN_REPO + "/*"])',
          "# slaf_array = SLAFArray(os.path.join(local, PATH_IN_REPO))",
        ]
      : ['# local = snapshot_download(REPO_ID, repo_type="dataset", revision=REVISION)', "# slaf_array = SLAFArray(local)"]),
  ];
}

function differenceNotes(info: LoaderInfo): string[] {
  const o = info.options;
  const notes = [
    "# SLAF 0.5.2 hard-codes its shuffle seed (42) and picks scanners with NumPy's unseeded global RNG, so its",
    "# batches hold other cells in another order than the workbench's seeded run: compare cells by cell_ids.",
  ];
  if (o.seed !== 42) notes.push(`# This run used seed ${pyNumber(o.seed)}, which SLAF 0.5.2 cannot take.`);
  if (!o.shuffle) {
    notes.push(
      "# The workbench ran without shuffling; SLAF 0.5.2 always block-shuffles. The closest is sequential reads",
      "# (use_mixture_of_scanners=False, by_fragment=False): cells are still shuffled within each prefetch block.",
    );
  }
  if (o.tokenizer !== "raw") {
    if (o.mode === "canonical") {
      notes.push(
        "# This run used the workbench's canonical mode (genes ranked by expression, truncation keeps the top genes",
        "# and SEP, scGPT values binned per cell). SLAF 0.5.2 has no such mode: its tokens are what the workbench",
        "# shows in slafdb-0.5.2 mode.",
      );
    } else {
      notes.push(
        "# slafdb-0.5.2 mode: each cell's tokens equal SLAF 0.5.2's (a cell split across expression fragments can",
        "# have its genes in SLAF's read order).",
      );
    }
  }
  if (o.geneMediansColumn !== null) {
    notes.push(
      `# Genes were ranked by value / median, with each gene's nonzero median from the genes column ${commentSafe(o.geneMediansColumn)}`,
      "# (Geneformer's gene_median_dictionary; genes without a positive median dropped). SLAF 0.5.2 has no medians:",
      "# its Geneformer never normalizes by them, and no argument below can ask for it.",
    );
  }
  if (o.normalizeTotal !== null || o.log1p) {
    notes.push(
      "# normalize_total / log1p come with SLAF's ExpressionPreprocessor, which is newer than 0.5.2 (PR #57). With a",
      "# SLAF that has it, pass the argument commented out below.",
    );
  }
  return notes;
}

function loaderArguments(info: LoaderInfo): string[] {
  const o = info.options;
  const args = ["    slaf_array,"];
  if (o.tokenizer === "raw") args.push("    raw_mode=True,  # COO rows per batch, no tokenizer");
  else args.push(`    tokenizer_type=${pyString(o.tokenizer)},`);
  args.push(`    batch_size=${pyNumber(o.batchSize)},`);
  if (o.tokenizer !== "raw") {
    args.push(`    max_genes=${pyNumber(o.maxGenes)},`, `    vocab_size=${pyNumber(o.vocabSize)},`, `    n_expression_bins=${pyNumber(o.nExpressionBins)},`);
  }
  args.push(`    n_epochs=${pyNumber(o.epochs)},`);
  if (!o.shuffle) args.push("    use_mixture_of_scanners=False,", "    by_fragment=False,");
  if (o.normalizeTotal !== null || o.log1p) {
    const target = o.normalizeTotal === null ? "None" : pyNumber(o.normalizeTotal);
    args.push(`    # expression_preprocessor=ExpressionPreprocessor(normalize_total_target=${target}, log1p=${o.log1p ? "True" : "False"}),`);
  }
  args.push("    verbose=False,");
  return args;
}

function loopLines(info: LoaderInfo): string[] {
  const o = info.options;
  if (o.tokenizer === "raw") {
    return [
      "for i, batch in enumerate(dataloader):",
      '    x = batch["x"]  # polars DataFrame: cell_integer_id, gene_integer_id, value (stored dtypes)',
      '    cell_ids = batch["cell_ids"]  # cell_integer_id of the batch\'s cells (order not guaranteed by SLAF)',
      '    print(i, sorted(cell_ids)[:8], x.height, "rows")',
      "    if i >= 2:",
      "        break",
    ];
  }
  const lines = [
    "for i, batch in enumerate(dataloader):",
    '    cell_ids = batch["cell_ids"]  # cell_integer_id, row order',
    `    input_ids = batch["input_ids"]  # int64 [batch, ${pyNumber(info.seqLength)}]`,
    '    attention_mask = batch["attention_mask"]  # input_ids != PAD',
  ];
  if (o.tokenizer === "scgpt")
    lines.push('    values = batch["values"]  # int64 [batch, max_genes + 2]: vocab_size + raw count (integer data) or + bin (float data), PAD at CLS/SEP');
  lines.push("    print(i, cell_ids[:8].tolist(), input_ids[0, :8].tolist())", "    if i >= 2:", "        break");
  return lines;
}

/** Python that reproduces the loader `info` describes with SLAF 0.5.2. */
export function pythonSnippet(info: LoaderInfo): string {
  const o = info.options;
  const described = [
    `tokenizer=${commentSafe(o.tokenizer)}`,
    o.tokenizer === "raw" ? null : `mode=${commentSafe(o.mode)}`,
    o.tokenizer === "raw" ? null : `max_genes=${pyNumber(o.maxGenes)}`,
    o.tokenizer === "raw" ? null : `vocab_size=${pyNumber(o.vocabSize)}`,
    o.tokenizer === "scgpt" ? `n_expression_bins=${pyNumber(o.nExpressionBins)}` : null,
    `batch_size=${pyNumber(o.batchSize)}`,
    `seed=${pyNumber(o.seed)}`,
    `shuffle=${o.shuffle ? "on" : "off"}`,
    `epochs=${pyNumber(o.epochs)}`,
    o.normalizeTotal !== null ? `normalize_total=${pyNumber(o.normalizeTotal)}` : null,
    o.log1p ? "log1p" : null,
    o.geneMediansColumn !== null ? `gene_medians=${commentSafe(o.geneMediansColumn)}` : null,
  ].filter((x): x is string => x !== null);
  const lines = [
    "# The SLAF Workbench dataloader preview, reproduced with SLAF 0.5.2:",
    '#   pip install "slafdb==0.5.2" torch',
    `# Workbench options: ${described.join(" ")}`,
    ...differenceNotes(info),
    "from slaf import SLAFArray",
    "from slaf.ml.dataloaders import SLAFDataLoader",
    ...(o.normalizeTotal !== null || o.log1p ? ["# from slaf.ml.expression_preprocessor import ExpressionPreprocessor"] : []),
    "",
    ...datasetLines(info),
    "",
    "dataloader = SLAFDataLoader(",
    ...loaderArguments(info),
    ")",
    "",
    ...loopLines(info),
  ];
  return `${lines.join("\n")}\n`;
}
