/**
 * The notebook model: an ordered list of cells plus frontmatter. Pure TS (no node:*, no DOM).
 * The file format lives in ./format.ts; this file holds the types and the pure edit helpers the UI uses.
 */

export type PlotMark = "dot" | "bar" | "line" | "rect" | "histogram";

export const PLOT_MARKS: readonly PlotMark[] = ["dot", "bar", "line", "rect", "histogram"];

export interface PlotSpec {
  mark: PlotMark;
  x?: string;
  y?: string;
  fill?: string;
  stroke?: string;
  fx?: string;
  fy?: string;
  r?: string;
  tip?: boolean;
  title?: string;
}

/** The keys of a PlotSpec in their stable (serialised) order. */
export const PLOT_SPEC_KEYS = ["mark", "x", "y", "fill", "stroke", "fx", "fy", "r", "tip", "title"] as const satisfies readonly (keyof PlotSpec)[];

export type Cell =
  | { kind: "markdown"; id: string; text: string }
  | { kind: "sql"; id: string; name: string | null; text: string }
  /** `source` is the `name` of an earlier SQL cell whose result the plot draws. */
  | { kind: "plot"; id: string; source: string | null; spec: PlotSpec }
  /** Any other fenced block (```python, ```{r}, a plot whose JSON is not a valid spec...), kept byte-for-byte. */
  | { kind: "raw"; id: string; text: string };

export type CellKind = Cell["kind"];

export interface NotebookFrontmatter {
  /** Dataset URI the notebook runs against (local path, s3://..., hf://datasets/...). */
  dataset: string | null;
  title: string | null;
  /**
   * Every other frontmatter entry, in file order, as [key, raw YAML value text]. The value is kept as written
   * (quotes included) so it round-trips; a multi-line value starts with "\n". An entry with key "" is a line
   * that is not `key: value` (a comment, say), kept verbatim.
   */
  extra: [string, string][];
}

export interface Notebook {
  frontmatter: NotebookFrontmatter;
  cells: Cell[];
}

export function emptyNotebook(dataset: string | null): Notebook {
  return { frontmatter: { dataset, title: null, extra: [] }, cells: [] };
}

/**
 * A short id ("c1a2", "c4b7", ...) not in `existing`. Deterministic: the same `existing` set always gives the
 * same id, so parsing the same file twice gives the same ids to cells that carry none in the file.
 */
export function newCellId(existing: Iterable<string>): string {
  const taken = existing instanceof Set ? (existing as Set<string>) : new Set(existing);
  // Walk a permutation of 3, then 4, 5... hex digits (multiplier odd => bijection modulo a power of two).
  for (let digits = 3; ; digits++) {
    const size = 16 ** digits;
    for (let k = 0; k < size; k++) {
      const id = "c" + ((k * 0x9e5 + 0x1a2) % size).toString(16).padStart(digits, "0");
      if (!taken.has(id)) return id;
    }
  }
}

/** A new cell of `kind` with an id unique in `nb`. */
export function newCell(nb: Notebook, kind: "markdown", init?: Partial<{ text: string }>): Extract<Cell, { kind: "markdown" }>;
export function newCell(nb: Notebook, kind: "sql", init?: Partial<{ name: string | null; text: string }>): Extract<Cell, { kind: "sql" }>;
export function newCell(nb: Notebook, kind: "plot", init?: Partial<{ source: string | null; spec: PlotSpec }>): Extract<Cell, { kind: "plot" }>;
export function newCell(nb: Notebook, kind: "raw", init?: Partial<{ text: string }>): Extract<Cell, { kind: "raw" }>;
export function newCell(nb: Notebook, kind: CellKind, init: Record<string, unknown> = {}): Cell {
  const id = newCellId(nb.cells.map((c) => c.id));
  switch (kind) {
    case "markdown":
      return { kind, id, text: (init.text as string) ?? "" };
    case "sql":
      return { kind, id, name: (init.name as string | null) ?? null, text: (init.text as string) ?? "" };
    case "plot":
      return { kind, id, source: (init.source as string | null) ?? null, spec: (init.spec as PlotSpec) ?? { mark: "dot" } };
    case "raw":
      return { kind, id, text: (init.text as string) ?? "```\n```" };
  }
}

export function cellIndex(nb: Notebook, id: string): number {
  return nb.cells.findIndex((c) => c.id === id);
}

export function findCell(nb: Notebook, id: string): Cell | undefined {
  return nb.cells.find((c) => c.id === id);
}

function clampIndex(i: number, length: number): number {
  if (!Number.isFinite(i)) return i > 0 ? length : 0;
  return Math.max(0, Math.min(length, Math.trunc(i)));
}

/**
 * Inserts `cell` at `index` (clamped; default: at the end). If its id is already used in `nb`, the inserted
 * cell gets a fresh id (read it back from the result).
 */
export function insertCell(nb: Notebook, cell: Cell, index: number = nb.cells.length): Notebook {
  const ids = nb.cells.map((c) => c.id);
  const unique = cell.id && !ids.includes(cell.id) ? cell : { ...cell, id: newCellId(ids) };
  const cells = nb.cells.slice();
  cells.splice(clampIndex(index, cells.length), 0, unique);
  return { ...nb, cells };
}

/** Inserts `cell` right after the cell `afterId`: at the start when `afterId` is null, at the end when it is unknown. */
export function insertCellAfter(nb: Notebook, cell: Cell, afterId: string | null): Notebook {
  if (afterId === null) return insertCell(nb, cell, 0);
  const i = cellIndex(nb, afterId);
  return insertCell(nb, cell, i < 0 ? nb.cells.length : i + 1);
}

/** Removes the cell `id` (no-op when absent). */
export function removeCell(nb: Notebook, id: string): Notebook {
  const i = cellIndex(nb, id);
  if (i < 0) return nb;
  return { ...nb, cells: nb.cells.filter((_, k) => k !== i) };
}

/** Moves the cell `id` so that it ends up at index `toIndex` (clamped) of the result. No-op when absent. */
export function moveCell(nb: Notebook, id: string, toIndex: number): Notebook {
  const from = cellIndex(nb, id);
  if (from < 0) return nb;
  const cells = nb.cells.slice();
  const [cell] = cells.splice(from, 1);
  const to = clampIndex(toIndex, cells.length);
  if (to === from) return nb;
  cells.splice(to, 0, cell);
  return { ...nb, cells };
}

/** Moves the cell `id` by `delta` positions (-1 = up, +1 = down). */
export function moveCellBy(nb: Notebook, id: string, delta: number): Notebook {
  const from = cellIndex(nb, id);
  return from < 0 ? nb : moveCell(nb, id, from + delta);
}

/**
 * Replaces the cell `id` with `update(cell)`. The id is kept (an update cannot change it). No-op when absent.
 */
export function updateCell(nb: Notebook, id: string, update: (cell: Cell) => Cell): Notebook {
  const i = cellIndex(nb, id);
  if (i < 0) return nb;
  const cells = nb.cells.slice();
  cells[i] = { ...update(cells[i]), id };
  return { ...nb, cells };
}

/** The cells before the cell `id`, in order (all cells when `id` is unknown: nothing is "below" it). */
export function cellsAbove(nb: Notebook, id: string): Cell[] {
  const i = cellIndex(nb, id);
  return i < 0 ? nb.cells.slice() : nb.cells.slice(0, i);
}

/** Names of the named SQL cells above `id`, nearest last: the choices for a plot's `source`. */
export function sqlSourcesAbove(nb: Notebook, id: string): string[] {
  const names: string[] = [];
  for (const c of cellsAbove(nb, id)) if (c.kind === "sql" && c.name && !names.includes(c.name)) names.push(c.name);
  return names;
}

/** A valid SQL-cell name (usable as a table name in later cells): letters, digits, underscore; not starting with a digit. */
export function isValidCellName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
