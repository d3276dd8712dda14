/**
 * Cell sets saved in a notebook file. Pure TS (no node:*, no DOM).
 *
 * A set is a fenced block that the notebook format keeps as a raw cell, byte for byte, so code that knows nothing
 * of cell sets (an older renderer, another editor) never loses one:
 *
 *     ```cellset {name="T cells" cells=25}
 *     0-19 40 42-44 47
 *     ```
 *
 * - Info: `cellset` then `{name=... cells=N}`; the name is bare when it has no space, quote, brace or `=`, else
 *   JSON-quoted. `cells` is the set's size, checked on read.
 * - Body: cell_integer_id runs in ascending order, separated by single spaces: `a` or `a-b` (inclusive), lines
 *   wrapped before 100 characters. An empty set has an empty body.
 * - `serializeCellSet(name, ids)` is the canonical text: `cellSetsOf` then `withCellSets` of the same sets leaves
 *   the file unchanged.
 */
import { encodeAttrValue, parseAttributes } from "./format";
import { newCellId, type Cell, type Notebook } from "./model";

export interface CellSetBlock {
  name: string;
  /** Sorted ascending, no repeats. */
  ids: Int32Array;
}

export interface SavedCellSet extends CellSetBlock {
  /** The raw cell holding it. */
  cellId: string;
}

const INFO = /^(`{3,})cellset[ \t]*(\{.*\})[ \t]*$/;
const LINE_WIDTH = 100;

/** The info line of a raw cell's text when it is a cellset block, else null. */
function cellSetFence(text: string): { fence: string; attrs: string } | null {
  const nl = text.indexOf("\n");
  const m = INFO.exec(nl < 0 ? text : text.slice(0, nl));
  return m ? { fence: m[1], attrs: m[2] } : null;
}

/** True when the cell is a saved cell set (a raw cell holding a ```cellset block). */
export function isCellSetCell(cell: Cell): boolean {
  return cell.kind === "raw" && cellSetFence(cell.text) !== null;
}

/** The canonical block of a set (ids sorted ascending, no repeats). */
export function serializeCellSet(name: string, ids: ArrayLike<number>): string {
  const lines: string[] = [];
  let line = "";
  const push = (token: string) => {
    if (line && line.length + 1 + token.length > LINE_WIDTH) {
      lines.push(line);
      line = "";
    }
    line = line ? `${line} ${token}` : token;
  };
  for (let i = 0; i < ids.length;) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    push(j > i ? `${ids[i]}-${ids[j]}` : String(ids[i]));
    i = j + 1;
  }
  if (line) lines.push(line);
  const body = lines.length ? `${lines.join("\n")}\n` : "";
  return `\`\`\`cellset {name=${encodeAttrValue(name)} cells=${ids.length}}\n${body}\`\`\``;
}

/** The set a block holds, or a message saying what is wrong with it. */
export function parseCellSet(text: string): CellSetBlock | { error: string } {
  const fence = cellSetFence(text);
  if (!fence) return { error: "not a ```cellset block" };
  const attrs = parseAttributes(fence.attrs);
  const name = attrs?.attrs.get("name");
  if (!name) return { error: "the cellset block has no name" };
  const lines = text.split("\n");
  const close = lines.length - 1;
  if (close < 1 || lines[close].trim() !== fence.fence) return { error: `cell set "${name}" is not closed` };
  const ids: number[] = [];
  let last = -1;
  for (const line of lines.slice(1, close)) {
    for (const token of line.trim().split(/\s+/)) {
      if (token === "") continue;
      const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(token);
      const a = m ? Number(m[1]) : NaN;
      const b = m?.[2] !== undefined ? Number(m[2]) : a;
      if (!m || a > 2 ** 31 - 1 || b > 2 ** 31 - 1 || b < a || a <= last) {
        return { error: `cell set "${name}": "${token.slice(0, 40)}" is not an ascending cell id or range of ids` };
      }
      if (ids.length + (b - a + 1) > 2 ** 31 - 1) return { error: `cell set "${name}" is too large` };
      for (let k = a; k <= b; k++) ids.push(k);
      last = b;
    }
  }
  const declared = attrs?.attrs.get("cells");
  if (declared !== undefined && Number(declared) !== ids.length) {
    return { error: `cell set "${name}" says cells=${declared} but lists ${ids.length}` };
  }
  return { name, ids: Int32Array.from(ids) };
}

/** The sets saved in a notebook, in file order; blocks that do not read are listed in `problems` (and kept in the file). */
export function cellSetsOf(nb: Notebook): { sets: SavedCellSet[]; problems: { cellId: string; message: string }[] } {
  const sets: SavedCellSet[] = [];
  const problems: { cellId: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const cell of nb.cells) {
    if (cell.kind !== "raw" || !cellSetFence(cell.text)) continue;
    const parsed = parseCellSet(cell.text);
    if ("error" in parsed) problems.push({ cellId: cell.id, message: parsed.error });
    else if (seen.has(parsed.name)) problems.push({ cellId: cell.id, message: `cell set "${parsed.name}" is saved twice; the first one is used` });
    else {
      seen.add(parsed.name);
      sets.push({ ...parsed, cellId: cell.id });
    }
  }
  return { sets, problems };
}

/**
 * The notebook holding exactly `sets`: a saved set of the same name is rewritten in place, a new one is added at
 * the end, a saved set not in `sets` is removed (blocks that do not read are left alone).
 */
export function withCellSets(nb: Notebook, sets: readonly CellSetBlock[]): Notebook {
  const wanted = new Map(sets.map((s) => [s.name, s]));
  const written = new Set<string>();
  const cells: Cell[] = [];
  for (const cell of nb.cells) {
    if (cell.kind !== "raw" || !cellSetFence(cell.text)) {
      cells.push(cell);
      continue;
    }
    const parsed = parseCellSet(cell.text);
    if ("error" in parsed) {
      cells.push(cell);
      continue;
    }
    const set = wanted.get(parsed.name);
    if (!set || written.has(set.name)) continue;
    written.add(set.name);
    cells.push({ ...cell, text: serializeCellSet(set.name, set.ids) });
  }
  const taken = new Set(cells.map((c) => c.id));
  for (const set of sets) {
    if (written.has(set.name)) continue;
    written.add(set.name);
    const id = newCellId(taken);
    taken.add(id);
    cells.push({ kind: "raw", id, text: serializeCellSet(set.name, set.ids) });
  }
  return { ...nb, cells };
}

/** Packed little-endian Int32 bytes of cell ids, as they cross the contract. */
export function cellIdsToBytes(ids: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(ids.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < ids.length; i++) view.setInt32(i * 4, ids[i], true);
  return out;
}

/** Cell ids from packed little-endian Int32 bytes (a whole number of 4-byte items). */
export function cellIdsFromBytes(bytes: Uint8Array): Int32Array {
  const n = Math.floor(bytes.byteLength / 4);
  const out = new Int32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
  for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}
