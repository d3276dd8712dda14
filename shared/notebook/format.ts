/**
 * The notebook file format (`*.slafnb.md`): Markdown with fenced cells. Pure TS (no node:*, no DOM).
 *
 * A canonical file is exactly what `serializeNotebook` writes; for it, `serializeNotebook(parseNotebook(x)) === x`.
 * Any other text still parses (nothing throws, nothing is dropped silently except what the rules below say).
 *
 *     ---                                   frontmatter (only when title, dataset or extra entries exist)
 *     title: PBMC 3k                        `title`, then `dataset`, then the other entries in file order
 *     dataset: /data/pbmc3k.slaf
 *     ---
 *                                           one blank line between blocks
 *     # Prose is a markdown cell
 *
 *     ```sql {#c1a2 name=cell_types}        SQL cell; ` name=` omitted when the name is null
 *     SELECT cell_type, COUNT(*) AS n FROM cells GROUP BY cell_type
 *     ```
 *
 *     ```plot {#c4b7 source=cell_types}     plot cell; ` source=` omitted when null; body = spec as 2-space JSON
 *     {
 *       "mark": "bar",
 *       "x": "cell_type",
 *       "y": "n"
 *     }
 *     ```
 *                                           the file ends with one "\n" (an empty notebook is "")
 *
 * Rules:
 * - Line endings: CRLF and lone CR read as LF; a leading BOM is dropped. Files are written with LF.
 * - Frontmatter: the first line is `---`, up to the next `---` (or `...`) line. `key: value` lines. `title` and
 *   `dataset` are decoded (plain, "double" or 'single' quoted; empty, `~` or `null` = null) and re-encoded plain
 *   when safe, else double-quoted. Every other line is kept as written in `extra` (see NotebookFrontmatter).
 *   The first `title`/`dataset` wins; repeats stay in `extra`. Without a closing line there is no frontmatter.
 * - Blocks: a fence is a line of 3+ backticks or tildes (indented at most 3 spaces), closed by a line of the
 *   same character, at least as long, and nothing else (CommonMark). A fence left unclosed runs to the end of
 *   the file (trailing blank lines dropped) and is closed on write.
 * - ```sql {...} and ```plot {...} (unindented; attributes `#id`, `name=`, `source=`; values bare or
 *   "double-quoted"; other attributes ignored) are SQL and plot cells. A plot whose body is not a valid spec
 *   (bad JSON, unknown key, wrong type) is a raw cell. Every other fence (```python, ```{r}, ``` ...) is a raw
 *   cell holding the fence lines exactly.
 * - Prose between fences is a markdown cell, with leading and trailing blank lines removed (interior kept
 *   exactly); prose that is only blank lines is no cell. A line `<!-- cell -->` in prose splits it into two
 *   markdown cells; the writer puts one between two adjacent markdown cells (and only there), so they stay
 *   two cells. Empty markdown cells are not written.
 * - Ids: `#id` is kept. A cell without one (markdown and raw cells never have one in the file) or whose id
 *   repeats an earlier cell's gets `newCellId` of the ids in use, in file order, so the ids are deterministic.
 * - The writer picks a fence of max(3, longest backtick run starting a body line + 1) backticks.
 * - Cell sets (```cellset {name=... cells=N}) are raw cells like any other fence, so they survive code that does
 *   not know them; ./cell-sets.ts reads and writes them.
 */
import { PLOT_MARKS, PLOT_SPEC_KEYS, newCellId, type Cell, type Notebook, type NotebookFrontmatter, type PlotMark, type PlotSpec } from "./model";

export const NOTEBOOK_EXTENSION = ".slafnb.md";

/** The line that separates two adjacent markdown cells. */
export const MARKDOWN_CELL_SEPARATOR = "<!-- cell -->";

type Pending = (
  | { kind: "markdown"; text: string }
  | { kind: "sql"; name: string | null; text: string }
  | { kind: "plot"; source: string | null; spec: PlotSpec }
  | { kind: "raw"; text: string }
) & { explicitId: string | null };

const BLANK = /^[ \t]*$/;
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;

function normalizeNewlines(text: string): string {
  let t = text;
  if (t.charCodeAt(0) === 0xfeff) t = t.slice(1);
  return t.replace(/\r\n?/g, "\n");
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function trimBlankLines(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && BLANK.test(lines[a])) a++;
  while (b > a && BLANK.test(lines[b - 1])) b--;
  return lines.slice(a, b);
}

// ---------------------------------------------------------------- frontmatter

function decodeScalar(raw: string): string | null {
  const v = raw.trim();
  if (v === "" || v === "~" || /^null$/i.test(v)) return null;
  if (v.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (typeof parsed === "string") return parsed;
    } catch {
      /* fall through */
    }
    return v.length >= 2 && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  if (v.startsWith("'") && v.endsWith("'") && v.length >= 2) return v.slice(1, -1).replaceAll("''", "'");
  return v.replace(/[ \t]+#.*$/, "");
}

function isPlainSafe(v: string): boolean {
  if (v === "" || v !== v.trim()) return false;
  for (const ch of v) if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) return false;
  if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(v)) return false;
  if (/: |:$| #/.test(v)) return false;
  if (/^(~|null|true|false|yes|no|on|off)$/i.test(v)) return false;
  if (/^[-+]?(\d|\.\d)/.test(v)) return false;
  return decodeScalar(v) === v;
}

function encodeScalar(v: string): string {
  return isPlainSafe(v) ? v : JSON.stringify(v);
}

const FM_KEY = /^([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:(?:[ \t]+(.*))?$/;

function parseFrontmatter(lines: string[]): NotebookFrontmatter {
  const fm: NotebookFrontmatter = { dataset: null, title: null, extra: [] };
  let seenTitle = false;
  let seenDataset = false;
  // Index in `extra` of the entry continuation lines attach to (an extra with a key), else -1.
  let open = -1;
  for (const line of lines) {
    const m = FM_KEY.exec(line);
    if (m) {
      const key = m[1];
      const raw = (m[2] ?? "").trimEnd();
      if (key === "title" && !seenTitle) {
        seenTitle = true;
        fm.title = decodeScalar(raw);
        open = -1;
      } else if (key === "dataset" && !seenDataset) {
        seenDataset = true;
        fm.dataset = decodeScalar(raw);
        open = -1;
      } else {
        fm.extra.push([key, raw]);
        open = fm.extra.length - 1;
      }
      continue;
    }
    const continuation = /^[ \t]/.test(line) || /^-( |$)/.test(line);
    if (continuation && !BLANK.test(line) && open >= 0) {
      fm.extra[open][1] += "\n" + line;
      continue;
    }
    fm.extra.push(["", line]);
    open = -1;
  }
  return fm;
}

function serializeFrontmatter(fm: NotebookFrontmatter): string | null {
  const lines: string[] = [];
  if (fm.title !== null && fm.title !== undefined) lines.push(`title: ${encodeScalar(fm.title)}`);
  if (fm.dataset !== null && fm.dataset !== undefined) lines.push(`dataset: ${encodeScalar(fm.dataset)}`);
  for (const [key, value] of fm.extra ?? []) {
    if (key === "") lines.push(value);
    else lines.push(`${key}:${value === "" || value.startsWith("\n") ? "" : " "}${value}`);
  }
  return lines.length ? `---\n${lines.join("\n")}\n---` : null;
}

// ---------------------------------------------------------------- fences

/** Attributes of a `{#id key=value ...}` block, or null when it does not tokenize. */
export function parseAttributes(block: string): { id: string | null; attrs: Map<string, string> } | null {
  const inner = block.slice(1, -1);
  const token = /[ \t]*(?:#([^\s{}]+)|\.([^\s{}=]+)|([A-Za-z_][\w-]*)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|'[^']*'|[^\s{}"']+)|([^\s{}="']+))/y;
  let id: string | null = null;
  const attrs = new Map<string, string>();
  let at = 0;
  while (at < inner.length) {
    if (BLANK.test(inner.slice(at))) break;
    token.lastIndex = at;
    const m = token.exec(inner);
    if (!m || token.lastIndex === at) return null;
    at = token.lastIndex;
    if (m[1] !== undefined) {
      if (id === null) id = m[1];
    } else if (m[3] !== undefined) {
      let value = m[4];
      if (value.startsWith('"')) {
        try {
          value = JSON.parse(value) as string;
        } catch {
          value = value.slice(1, -1);
        }
      } else if (value.startsWith("'")) value = value.slice(1, -1);
      if (!attrs.has(m[3])) attrs.set(m[3], value);
    }
  }
  return { id, attrs };
}

export function encodeAttrValue(v: string): string {
  return /^[^\s{}"'=]+$/.test(v) ? v : JSON.stringify(v);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** A PlotSpec from parsed JSON, or null when the value is not exactly a PlotSpec. */
export function toPlotSpec(value: unknown): PlotSpec | null {
  if (!isPlainObject(value)) return null;
  const keys = PLOT_SPEC_KEYS as readonly string[];
  for (const k of Object.keys(value)) if (!keys.includes(k)) return null;
  if (typeof value.mark !== "string" || !PLOT_MARKS.includes(value.mark as PlotMark)) return null;
  const spec: PlotSpec = { mark: value.mark as PlotMark };
  for (const k of PLOT_SPEC_KEYS) {
    if (k === "mark" || value[k] === undefined) continue;
    if (k === "tip") {
      if (typeof value.tip !== "boolean") return null;
      spec.tip = value.tip;
    } else {
      if (typeof value[k] !== "string") return null;
      spec[k] = value[k] as string;
    }
  }
  return spec;
}

/** The spec with its keys in stable order and undefined keys dropped. */
export function orderedPlotSpec(spec: PlotSpec): PlotSpec {
  const out: Record<string, unknown> = {};
  for (const k of PLOT_SPEC_KEYS) if (spec[k] !== undefined) out[k] = spec[k];
  return out as unknown as PlotSpec;
}

function fenceBlock(lines: string[], open: number): { end: number; closed: boolean; indent: string; fence: string; info: string } | null {
  const m = FENCE_OPEN.exec(lines[open]);
  if (!m) return null;
  const [, indent, fence, rest] = m;
  if (fence[0] === "`" && rest.includes("`")) return null;
  const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`);
  for (let j = open + 1; j < lines.length; j++) if (close.test(lines[j])) return { end: j, closed: true, indent, fence, info: rest.trim() };
  return { end: lines.length - 1, closed: false, indent, fence, info: rest.trim() };
}

function classifyFence(lines: string[], start: number, block: NonNullable<ReturnType<typeof fenceBlock>>): Pending {
  const bodyEnd = block.closed ? block.end : lines.length;
  let body = lines.slice(start + 1, bodyEnd);
  if (!block.closed) body = trimBlankLines(["x", ...body]).slice(1);
  const rawText = (): string => {
    if (block.closed) return lines.slice(start, block.end + 1).join("\n");
    return [lines[start], ...body, block.indent + block.fence[0].repeat(block.fence.length)].join("\n");
  };
  const raw: Pending = { kind: "raw", text: "", explicitId: null };
  const m = /^([A-Za-z][\w+-]*)[ \t]*(\{.*\})?$/.exec(block.info);
  if (block.indent !== "" || !m) return { ...raw, text: rawText() };
  const lang = m[1].toLowerCase();
  if (lang !== "sql" && lang !== "plot") return { ...raw, text: rawText() };
  const parsed = m[2] ? parseAttributes(m[2]) : { id: null, attrs: new Map<string, string>() };
  if (!parsed) return { ...raw, text: rawText() };
  if (lang === "sql") {
    const name = parsed.attrs.get("name");
    return { kind: "sql", name: name ? name : null, text: body.join("\n"), explicitId: parsed.id };
  }
  let spec: PlotSpec | null;
  try {
    spec = toPlotSpec(JSON.parse(body.join("\n")));
  } catch {
    spec = null;
  }
  if (!spec) return { ...raw, text: rawText() };
  const source = parsed.attrs.get("source");
  return { kind: "plot", source: source ? source : null, spec, explicitId: parsed.id };
}

function proseCells(lines: string[], out: Pending[]): void {
  let piece: string[] = [];
  const flush = () => {
    const text = trimBlankLines(piece);
    if (text.length) out.push({ kind: "markdown", text: text.join("\n"), explicitId: null });
    piece = [];
  };
  for (const line of lines) {
    if (line.trim() === MARKDOWN_CELL_SEPARATOR) flush();
    else piece.push(line);
  }
  flush();
}

// ---------------------------------------------------------------- parse / serialize

/** Parses a notebook file. Never throws: anything not understood becomes a raw or markdown cell. */
export function parseNotebook(text: string): Notebook {
  const lines = splitLines(normalizeNewlines(typeof text === "string" ? text : String(text ?? "")));
  let frontmatter: NotebookFrontmatter = { dataset: null, title: null, extra: [] };
  let i = 0;
  if (lines.length && /^---[ \t]*$/.test(lines[0])) {
    const close = lines.findIndex((l, k) => k > 0 && /^(---|\.\.\.)[ \t]*$/.test(l));
    if (close > 0) {
      frontmatter = parseFrontmatter(lines.slice(1, close));
      i = close + 1;
    }
  }

  const pending: Pending[] = [];
  let prose: string[] = [];
  while (i < lines.length) {
    const block = fenceBlock(lines, i);
    if (!block) {
      prose.push(lines[i]);
      i++;
      continue;
    }
    proseCells(prose, pending);
    prose = [];
    pending.push(classifyFence(lines, i, block));
    i = block.end + 1;
  }
  proseCells(prose, pending);

  // Ids: explicit first occurrences are kept; the rest get deterministic fresh ids.
  const explicit = new Set<string>();
  const keep = pending.map((p) => {
    if (p.explicitId === null || explicit.has(p.explicitId)) return false;
    explicit.add(p.explicitId);
    return true;
  });
  const taken = new Set(explicit);
  const cells: Cell[] = pending.map((p, k) => {
    let id: string;
    if (keep[k]) id = p.explicitId as string;
    else {
      id = newCellId(taken);
      taken.add(id);
    }
    const { explicitId: _ignored, ...cell } = p;
    return { ...cell, id } as Cell;
  });
  return { frontmatter, cells };
}

function fenceFor(body: string): string {
  let longest = 0;
  for (const m of body.matchAll(/^ {0,3}(`{3,})/gm)) longest = Math.max(longest, m[1].length);
  return "`".repeat(Math.max(3, longest + 1));
}

function serializeCell(cell: Cell): string | null {
  switch (cell.kind) {
    case "markdown": {
      const text = trimBlankLines(splitLines(normalizeNewlines(cell.text ?? "") + "\n"));
      return text.length ? text.join("\n") : null;
    }
    case "sql": {
      const text = normalizeNewlines(cell.text ?? "");
      const fence = fenceFor(text);
      const name = cell.name ? ` name=${encodeAttrValue(cell.name)}` : "";
      return `${fence}sql {#${cell.id}${name}}\n${text === "" ? "" : text + "\n"}${fence}`;
    }
    case "plot": {
      const source = cell.source ? ` source=${encodeAttrValue(cell.source)}` : "";
      return `\`\`\`plot {#${cell.id}${source}}\n${JSON.stringify(orderedPlotSpec(cell.spec), null, 2)}\n\`\`\``;
    }
    case "raw":
      return normalizeNewlines(cell.text ?? "");
  }
}

/** Writes a notebook in canonical form (see the rules at the top of this file). */
export function serializeNotebook(nb: Notebook): string {
  const rendered: { kind: Cell["kind"]; text: string }[] = [];
  for (const cell of nb.cells ?? []) {
    const text = serializeCell(cell);
    if (text !== null) rendered.push({ kind: cell.kind, text });
  }
  const blocks: string[] = [];
  const fm = serializeFrontmatter(nb.frontmatter ?? { dataset: null, title: null, extra: [] });
  if (fm !== null) blocks.push(fm);
  else if (rendered[0]?.kind === "markdown" && /^---[ \t]*(\n|$)/.test(rendered[0].text)) {
    // Prose opening with a `---` line would read back as frontmatter: an empty frontmatter block prevents it.
    blocks.push("---\n---");
  }
  rendered.forEach((r, k) => {
    if (r.kind === "markdown" && rendered[k - 1]?.kind === "markdown") blocks.push(MARKDOWN_CELL_SEPARATOR);
    blocks.push(r.text);
  });
  return blocks.length ? blocks.join("\n\n") + "\n" : "";
}

/** True when `text` is exactly what the writer would produce for it. */
export function isCanonical(text: string): boolean {
  return serializeNotebook(parseNotebook(text)) === text;
}
