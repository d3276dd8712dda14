import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isCanonical, parseNotebook, serializeNotebook } from "../../../shared/notebook/format";
import { emptyNotebook, type Cell, type Notebook } from "../../../shared/notebook/model";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/notebooks");
const canonicalFiles = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".slafnb.md"));
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");

function kinds(nb: Notebook): string[] {
  return nb.cells.map((c) => c.kind);
}

function byKind<K extends Cell["kind"]>(nb: Notebook, kind: K): Extract<Cell, { kind: K }>[] {
  return nb.cells.filter((c): c is Extract<Cell, { kind: K }> => c.kind === kind);
}

describe("golden files", () => {
  it("has fixtures", () => {
    expect(canonicalFiles.length).toBeGreaterThanOrEqual(5);
  });

  for (const name of canonicalFiles) {
    it(`round-trips ${name} byte for byte`, () => {
      const text = read(name);
      expect(serializeNotebook(parseNotebook(text))).toBe(text);
      // And parse is deterministic (same ids the second time).
      expect(parseNotebook(text)).toEqual(parseNotebook(text));
    });
  }

  it("parses the PBMC tour into the expected cells", () => {
    const nb = parseNotebook(read("pbmc-tour.slafnb.md"));
    expect(nb.frontmatter).toEqual({ title: "PBMC 3k tour", dataset: "/data/pbmc3k.slaf", extra: [] });
    expect(kinds(nb)).toEqual(["markdown", "sql", "plot", "markdown", "sql", "plot"]);
    expect(nb.cells[0]).toMatchObject({ kind: "markdown", text: "# PBMC 3k\n\nCell types, their top genes, and the UMAP." });
    expect(nb.cells[1]).toEqual({
      kind: "sql",
      id: "c1a2",
      name: "cell_types",
      text: "SELECT cell_type, COUNT(*) AS n_cells\nFROM cells\nGROUP BY cell_type\nORDER BY n_cells DESC",
    });
    expect(nb.cells[2]).toEqual({
      kind: "plot",
      id: "c487",
      source: "cell_types",
      spec: { mark: "bar", x: "cell_type", y: "n_cells", fill: "cell_type", tip: true, title: "Cells per type" },
    });
    expect(nb.cells[4]).toMatchObject({ id: "umapq", name: "umap" });
    expect(nb.cells[5]).toMatchObject({ id: "p-umap", source: "umap" });
    // Generated ids avoid the explicit ones, even those further down the file.
    const ids = nb.cells.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).not.toBe("c1a2");
  });

  it("keeps SQL bodies exactly, including blank lines and empty bodies", () => {
    const nb = parseNotebook(read("no-frontmatter.slafnb.md"));
    expect(nb.frontmatter).toEqual({ title: null, dataset: null, extra: [] });
    const sql = byKind(nb, "sql");
    expect(sql.map((c) => [c.id, c.name, c.text])).toEqual([
      ["a1", null, "SELECT 1"],
      ["a2", "empty", ""],
      ["a3", "my cell", "\nSELECT 2\n"],
    ]);
    expect(byKind(nb, "plot")[0]).toEqual({ kind: "plot", id: "a4", source: null, spec: { mark: "histogram" } });
  });

  it("keeps unknown fences verbatim as raw cells", () => {
    const text = read("raw-fences.slafnb.md");
    const nb = parseNotebook(text);
    expect(nb.frontmatter.dataset).toBe("hf://datasets/slaf-project/pbmc3k: v2");
    const raw = byKind(nb, "raw").map((c) => c.text);
    expect(raw).toEqual([
      "```python\nimport slaf\nprint(slaf.__version__)\n```",
      "```{r}\nsummary(cells)\n```",
      "~~~ text\na ~~~ tilde fence with ``` inside\n```\n~~~",
      '```plot {#bad source=x}\n{ "mark": "dot", "opacity": 0.5 }\n```',
      "```sql title\nSELECT 'sql with an info string that is not attributes'\n```",
      "   ```python\n   indented fence\n   ```",
    ]);
    for (const r of raw) expect(text).toContain(r);
    const sql = byKind(nb, "sql");
    expect(sql).toEqual([{ kind: "sql", id: "c1a2", name: "fenced", text: "SELECT '\n```\n' AS backticks" }]);
    const md = byKind(nb, "markdown").map((c) => c.text);
    expect(md).toEqual(["Unknown fences stay as they are.", "Two markdown cells in a row:", "The second one."]);
  });

  it("keeps frontmatter extras as written", () => {
    const nb = parseNotebook(read("frontmatter-extras.slafnb.md"));
    expect(nb.frontmatter.title).toBe("2024: a study");
    expect(nb.frontmatter.dataset).toBe("/data/with space/pbmc3k.slaf");
    expect(nb.frontmatter.extra).toEqual([
      ["author", "Ada"],
      ["", "# a comment line"],
      ["tags", "\n  - pbmc\n  - demo"],
      ["description", "|\n  Several lines\n  of text."],
      ["seed", "42"],
    ]);
  });
});

describe("non-canonical input", () => {
  it("reads CRLF (and a BOM) like LF", () => {
    const lf = read("pbmc-tour.slafnb.md");
    const crlf = "\ufeff" + lf.replaceAll("\n", "\r\n");
    expect(parseNotebook(crlf)).toEqual(parseNotebook(lf));
    expect(serializeNotebook(parseNotebook(crlf))).toBe(lf);
    expect(isCanonical(crlf)).toBe(false);
  });

  it("handles a missing frontmatter", () => {
    const nb = parseNotebook("# Hello\n```sql\nSELECT 1\n```\n");
    expect(nb.frontmatter).toEqual({ title: null, dataset: null, extra: [] });
    expect(kinds(nb)).toEqual(["markdown", "sql"]);
    const out = serializeNotebook(nb);
    expect(out).toBe(`# Hello\n\n\`\`\`sql {#${nb.cells[1].id}}\nSELECT 1\n\`\`\`\n`);
    expect(isCanonical(out)).toBe(true);
  });

  it("canonicalises blank lines between cells", () => {
    const messy =
      '---\ndataset: x\n---\n\n\n\nIntro\ntext   \n\n\n```sql {#q name=a}\nSELECT 1\n```\nafter\n\n\n\n```plot {#p source=a}\n{"y":"b","mark":"line","x":"a"}\n```   \n\n\n';
    const nb = parseNotebook(messy);
    expect(nb.cells.map((c) => ("text" in c ? c.text : c.spec))).toEqual(["Intro\ntext   ", "SELECT 1", "after", { mark: "line", x: "a", y: "b" }]);
    const out = serializeNotebook(nb);
    expect(out).toBe(
      '---\ndataset: x\n---\n\nIntro\ntext   \n\n```sql {#q name=a}\nSELECT 1\n```\n\nafter\n\n```plot {#p source=a}\n{\n  "mark": "line",\n  "x": "a",\n  "y": "b"\n}\n```\n',
    );
    expect(isCanonical(out)).toBe(true);
  });

  it("runs a fence left unclosed to the end of the file and closes it on write", () => {
    const nb = parseNotebook("Intro\n\n```sql {#q name=a}\nSELECT *\nFROM cells\n\n\n");
    expect(kinds(nb)).toEqual(["markdown", "sql"]);
    expect(nb.cells[1]).toEqual({ kind: "sql", id: "q", name: "a", text: "SELECT *\nFROM cells" });
    expect(serializeNotebook(nb)).toBe("Intro\n\n```sql {#q name=a}\nSELECT *\nFROM cells\n```\n");

    const raw = parseNotebook("```python\nprint(1)\n\n");
    expect(raw.cells).toEqual([{ kind: "raw", id: raw.cells[0].id, text: "```python\nprint(1)\n```" }]);
    // Moving the (now closed) raw cell above another cell cannot swallow it.
    const moved = serializeNotebook({ ...raw, cells: [raw.cells[0], { kind: "sql", id: "z", name: null, text: "SELECT 2" }] });
    expect(kinds(parseNotebook(moved))).toEqual(["raw", "sql"]);
  });

  it("treats an unclosed frontmatter as prose", () => {
    const nb = parseNotebook("---\ndataset: x\n\nHello\n");
    expect(nb.frontmatter.dataset).toBeNull();
    expect(kinds(nb)).toEqual(["markdown"]);
  });

  it("preserves cell ids and makes duplicates unique", () => {
    const text =
      '```sql {#same name=a}\nSELECT 1\n```\n\n```sql {#same name=b}\nSELECT 2\n```\n\n```plot {#same source=a}\n{"mark":"dot"}\n```\n\n```sql {#keep}\nSELECT 3\n```\n';
    const nb = parseNotebook(text);
    const ids = nb.cells.map((c) => c.id);
    expect(ids[0]).toBe("same");
    expect(ids[3]).toBe("keep");
    expect(new Set(ids).size).toBe(4);
    expect(ids[1]).toMatch(/^c[0-9a-f]{3}$/);
    // Stable: the written file reads back with the same ids.
    const again = parseNotebook(serializeNotebook(nb));
    expect(again.cells.map((c) => c.id)).toEqual(ids);
    expect(again).toEqual(nb);
  });

  it("accepts tildes, uppercase and quoted attributes", () => {
    const nb = parseNotebook("~~~SQL {#x name='my q' .hidden echo=false}\nSELECT 1\n~~~\n");
    expect(nb.cells).toEqual([{ kind: "sql", id: "x", name: "my q", text: "SELECT 1" }]);
    expect(serializeNotebook(nb)).toBe('```sql {#x name="my q"}\nSELECT 1\n```\n');
  });

  it("keeps a plot with invalid JSON as raw", () => {
    const text = "```plot {#p}\n{ mark: dot }\n```\n";
    const nb = parseNotebook(text);
    expect(nb.cells).toEqual([{ kind: "raw", id: nb.cells[0].id, text: "```plot {#p}\n{ mark: dot }\n```" }]);
    expect(serializeNotebook(nb)).toBe(text);
  });

  it("reads frontmatter values quoted, commented, null, closed with ...", () => {
    const nb = parseNotebook("---\ntitle: 'It''s mine'\ndataset: /d/x.slaf # local copy\ndataset: /other\n...\n");
    expect(nb.frontmatter).toEqual({ title: "It's mine", dataset: "/d/x.slaf", extra: [["dataset", "/other"]] });
    expect(parseNotebook("---\ntitle: ~\ndataset: null\n---\n").frontmatter).toEqual({ title: null, dataset: null, extra: [] });
  });

  it("never throws on odd input", () => {
    const inputs = [
      "",
      "\n",
      "---",
      "---\n---\n",
      "```",
      "````\n```\n",
      "~~~\n",
      "```sql {#",
      '```sql {name="unterminated}\nx\n```',
      "\r\r\r",
      "\u0000```plot\n{}\n",
    ];
    let seed = 7;
    const alphabet = ["`", "~", "-", "\n", "\r\n", " ", "{", "}", "#", "sql", "plot", "=", '"', "name", "x", "---", "<!-- cell -->"];
    for (let n = 0; n < 300; n++) {
      let s = "";
      for (let k = 0; k < 40; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        s += alphabet[seed % alphabet.length];
      }
      inputs.push(s);
    }
    for (const input of inputs) {
      const nb = parseNotebook(input);
      const out = serializeNotebook(nb);
      // Whatever the input, the output is canonical and stable.
      expect(serializeNotebook(parseNotebook(out)), JSON.stringify(input)).toBe(out);
      const ids = nb.cells.map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});

describe("serialize", () => {
  it("writes an empty notebook", () => {
    expect(serializeNotebook(emptyNotebook(null))).toBe("");
    expect(serializeNotebook(emptyNotebook("/d/x.slaf"))).toBe("---\ndataset: /d/x.slaf\n---\n");
  });

  it("quotes frontmatter values that YAML would misread", () => {
    for (const value of ["", " padded", "yes", "123", "a: b", "x #y", "[list]", '"q"', "line\nbreak", "null"]) {
      const nb = { frontmatter: { title: value, dataset: "d", extra: [] }, cells: [] } satisfies Notebook;
      const out = serializeNotebook(nb);
      expect(out.split("\n")[1]).toBe(`title: ${JSON.stringify(value)}`);
      expect(parseNotebook(out).frontmatter.title).toBe(value);
    }
  });

  it("separates adjacent markdown cells and drops empty ones", () => {
    const nb: Notebook = {
      frontmatter: { title: null, dataset: null, extra: [] },
      cells: [
        { kind: "markdown", id: "m1", text: "\n\nOne\n\n" },
        { kind: "markdown", id: "m2", text: "  \n" },
        { kind: "markdown", id: "m3", text: "Two" },
      ],
    };
    const out = serializeNotebook(nb);
    expect(out).toBe("One\n\n<!-- cell -->\n\nTwo\n");
    expect(parseNotebook(out).cells.map((c) => ("text" in c ? c.text : ""))).toEqual(["One", "Two"]);
  });

  it("lengthens the fence around SQL that contains one, and normalises CRLF in cell text", () => {
    const nb: Notebook = {
      frontmatter: { title: null, dataset: null, extra: [] },
      cells: [{ kind: "sql", id: "s", name: null, text: "SELECT 1\r\n````\r\n" }],
    };
    const out = serializeNotebook(nb);
    expect(out).toBe("`````sql {#s}\nSELECT 1\n````\n\n`````\n");
    expect(parseNotebook(out).cells[0]).toEqual({ kind: "sql", id: "s", name: null, text: "SELECT 1\n````\n" });
  });

  it("writes plot specs with a stable key order, dropping undefined keys", () => {
    const nb: Notebook = {
      frontmatter: { title: null, dataset: null, extra: [] },
      cells: [{ kind: "plot", id: "p", source: "a b", spec: { title: "T", tip: false, y: "v", mark: "rect", x: undefined } }],
    };
    expect(serializeNotebook(nb)).toBe('```plot {#p source="a b"}\n{\n  "mark": "rect",\n  "y": "v",\n  "tip": false,\n  "title": "T"\n}\n```\n');
  });

  it("keeps prose that opens with --- from becoming frontmatter", () => {
    const nb: Notebook = {
      frontmatter: { title: null, dataset: null, extra: [] },
      cells: [{ kind: "markdown", id: "m", text: "---\nnot: frontmatter\n---\ntext" }],
    };
    const out = serializeNotebook(nb);
    expect(parseNotebook(out).cells.map((c) => ("text" in c ? c.text : ""))).toEqual(["---\nnot: frontmatter\n---\ntext"]);
    expect(isCanonical(out)).toBe(true);
  });
});
