/** Cell sets saved in notebooks: exact round trips through the file format, and kept by code that does not know them. */
import { describe, expect, it } from "vitest";
import { cellIdsFromBytes, cellIdsToBytes, cellSetsOf, isCellSetCell, parseCellSet, serializeCellSet, withCellSets } from "../../../shared/notebook/cell-sets";
import { isCanonical, parseNotebook, serializeNotebook } from "../../../shared/notebook/format";
import { insertCell, newCell, removeCell, updateCell } from "../../../shared/notebook/model";

const FILE = `---
title: PBMC
dataset: /data/pbmc.slaf
---

\`\`\`sql {#c1a2 name=t}
SELECT count(*) FROM cell_sets WHERE set_name = 'T cells'
\`\`\`

\`\`\`cellset {name="T cells" cells=25}
0-19 40 42-44 47
\`\`\`

Some prose.

\`\`\`cellset {name=empty cells=0}
\`\`\`
`;

/** About `n` ids of [0, max), each kept with probability n / max. */
function randomIds(seed: number, n: number, max: number): Int32Array {
  let s = seed;
  const ids: number[] = [];
  for (let i = 0; i < max; i++) if ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 < n / max) ids.push(i);
  return Int32Array.from(ids);
}

describe("cell sets in notebooks", () => {
  it("reads the sets of a file, and a file holding them is canonical", () => {
    expect(isCanonical(FILE)).toBe(true);
    const nb = parseNotebook(FILE);
    const { sets, problems } = cellSetsOf(nb);
    expect(problems).toEqual([]);
    expect(sets.map((s) => [s.name, Array.from(s.ids)])).toEqual([
      ["T cells", [...Array.from({ length: 20 }, (_, i) => i), 40, 42, 43, 44, 47]],
      ["empty", []],
    ]);
    expect(nb.cells.filter(isCellSetCell)).toHaveLength(2);
  });

  it("round-trips exactly: ids → block → ids, and file → sets → file", () => {
    for (const [seed, n, max] of [
      [1, 1, 10],
      [2, 500, 600],
      [3, 5000, 1_000_000],
      [4, 2000, 2000],
    ]) {
      const ids = randomIds(seed, n, max);
      const text = serializeCellSet(`set ${seed}`, ids);
      const back = parseCellSet(text);
      if ("error" in back) throw new Error(back.error);
      expect(back.name).toBe(`set ${seed}`);
      expect(Array.from(back.ids)).toEqual(Array.from(ids));
      expect(text.split("\n").every((line) => line.length < 100 || line.startsWith("```"))).toBe(true);
    }
    expect(
      serializeCellSet(
        "full",
        Int32Array.from({ length: 2000 }, (_, i) => i),
      ),
    ).toBe("```cellset {name=full cells=2000}\n0-1999\n```");
    const nb = parseNotebook(FILE);
    expect(serializeNotebook(withCellSets(nb, cellSetsOf(nb).sets))).toBe(FILE);
  });

  it("writes sets in place, adds new ones at the end and removes deleted ones", () => {
    const nb = parseNotebook(FILE);
    const tcells = cellSetsOf(nb).sets[0];
    const updated = withCellSets(nb, [
      { name: "T cells", ids: Int32Array.from([1, 2, 3]) },
      { name: 'odd "name", with = signs', ids: Int32Array.from([7]) },
    ]);
    const text = serializeNotebook(updated);
    expect(text).toContain("```cellset {name=T cells cells=3}".replace("T cells", '"T cells"'));
    expect(text).not.toContain("name=empty");
    const again = cellSetsOf(parseNotebook(text)).sets;
    expect(again.map((s) => [s.name, Array.from(s.ids)])).toEqual([
      ["T cells", [1, 2, 3]],
      ['odd "name", with = signs', [7]],
    ]);
    // The rewritten set keeps its cell (and place); the new one is last.
    expect(again[0].cellId).toBe(tcells.cellId);
    expect(parseNotebook(text).cells.at(-1)?.kind).toBe("raw");
  });

  it("survives code that knows nothing of cell sets (edits of other cells, moves, saves)", () => {
    let nb = parseNotebook(FILE);
    nb = updateCell(nb, "c1a2", (c) => ({ ...c, text: "SELECT 1" }) as typeof c);
    nb = insertCell(nb, newCell(nb, "markdown", { text: "# New" }), 0);
    nb = removeCell(nb, nb.cells.find((c) => c.kind === "markdown" && c.text === "Some prose.")!.id);
    const text = serializeNotebook(parseNotebook(serializeNotebook(nb)));
    expect(text).toContain('```cellset {name="T cells" cells=25}\n0-19 40 42-44 47\n```');
    expect(cellSetsOf(parseNotebook(text)).sets.map((s) => s.name)).toEqual(["T cells", "empty"]);
  });

  it("lists blocks that do not read as problems and keeps them in the file", () => {
    const bad = [
      "```cellset {cells=1}\n1\n```",
      "```cellset {name=x cells=2}\n1\n```",
      "```cellset {name=y}\n5 3\n```",
      "```cellset {name=z}\n1-b\n```",
      "```cellset {name=w}\n2-1\n```",
    ];
    const text = bad.join("\n\n") + "\n";
    const nb = parseNotebook(text);
    const { sets, problems } = cellSetsOf(nb);
    expect(sets).toEqual([]);
    expect(problems).toHaveLength(5);
    expect(problems.map((p) => p.message).join("\n")).toMatch(/no name[\s\S]*cells=2 but lists 1[\s\S]*ascending/);
    expect(serializeNotebook(withCellSets(nb, []))).toBe(text);
    // A repeated name: the first is used, the second reported.
    const twice = parseNotebook("```cellset {name=a}\n1\n```\n\n```cellset {name=a}\n2\n```\n");
    expect(cellSetsOf(twice).sets.map((s) => Array.from(s.ids))).toEqual([[1]]);
    expect(cellSetsOf(twice).problems).toHaveLength(1);
  });

  it("packs ids as little-endian Int32 bytes", () => {
    const bytes = cellIdsToBytes([1, 256, 2 ** 31 - 1]);
    expect(Array.from(bytes.slice(0, 8))).toEqual([1, 0, 0, 0, 0, 1, 0, 0]);
    expect(Array.from(cellIdsFromBytes(bytes))).toEqual([1, 256, 2 ** 31 - 1]);
    expect(Array.from(cellIdsFromBytes(bytes.subarray(4)))).toEqual([256, 2 ** 31 - 1]);
  });
});
