/** What the analysis reads from DuckDB's parse tree: columns per table, pushed predicates, id links, errors. */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { analyzeQuery, type Analysis } from "../../../main/services/query/analyze";
import { ANY_INT, catalogTable, type Catalog } from "../../../main/services/query/catalog";
import { createTableAs } from "../../../main/services/query/execute";
import { parseSql, positionAt } from "../../../main/services/query/parse";
import { andOf, LANCE, renderPred } from "../../../main/services/query/pushdown";
import { type AppFailure } from "../../../shared/result";

const { Schema, Field, Utf8, Int64, Uint32, Uint16, Float64, Float32, Bool } = arrow;
const catalog: Catalog = {
  tables: new Map([
    [
      "cells",
      catalogTable(
        "cells",
        new Schema([
          new Field("cell_type", new Utf8()),
          new Field("nCount_RNA", new Float64()),
          new Field("percent_mt", new Float32()),
          new Field("cell_integer_id", new Int64()),
        ]),
      ),
    ],
    [
      "genes",
      catalogTable(
        "genes",
        new Schema([new Field("gene_id", new Utf8()), new Field("highly_variable", new Bool()), new Field("gene_integer_id", new Int64())]),
      ),
    ],
    [
      "expression",
      catalogTable(
        "expression",
        new Schema([new Field("cell_integer_id", new Uint32()), new Field("gene_integer_id", new Uint16()), new Field("value", new Uint16())]),
      ),
    ],
  ]),
  namedResults: new Set(["my_cell"]),
};

let inst: DuckDBInstance;
let conn: DuckDBConnection;
beforeAll(async () => {
  inst = await DuckDBInstance.create(":memory:");
  conn = await inst.connect();
});
afterAll(() => {
  conn.closeSync();
  inst.closeSync();
});

async function analyze(sql: string): Promise<Analysis> {
  return analyzeQuery(await parseSql(conn, sql), catalog);
}

function columns(a: Analysis, table: string): string[] {
  return [...(a.tables.get(table)?.columns ?? [])].sort();
}

function filters(a: Analysis, table: string): (string | null)[] {
  return a.tables.get(table)!.refs.map((r) => (r.preds.length ? renderPred(andOf(r.preds)!, LANCE) : null));
}

describe("columns", () => {
  it("takes qualified, unqualified and case-insensitive names from the right tables", async () => {
    const a = await analyze("SELECT C.CELL_TYPE, avg(value) FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id GROUP BY 1");
    expect(columns(a, "cells")).toEqual(["cell_integer_id", "cell_type"]);
    expect(columns(a, "expression")).toEqual(["cell_integer_id", "value"]);
    expect(a.tables.has("genes")).toBe(false);
  });

  it("reads all columns for *, alias.*, whole-row references and NATURAL joins, not for stars over subqueries", async () => {
    expect((await analyze("SELECT * FROM genes")).tables.get("genes")!.allColumns).toBe(true);
    const q = await analyze("SELECT g.*, e.value FROM genes g JOIN expression e USING (gene_integer_id)");
    expect(q.tables.get("genes")!.allColumns).toBe(true);
    expect(columns(q, "expression")).toEqual(["gene_integer_id", "value"]);
    expect((await analyze("SELECT c FROM cells c")).tables.get("cells")!.allColumns).toBe(true);
    expect((await analyze("SELECT 1 FROM cells NATURAL JOIN genes")).tables.get("genes")!.allColumns).toBe(true);
    const sub = await analyze("SELECT * FROM (SELECT cell_type FROM cells) t");
    expect(sub.tables.get("cells")!.allColumns).toBe(false);
    expect(columns(sub, "cells")).toEqual(["cell_type"]);
  });

  it("treats CTE names as CTEs, named results as named, and unknown tables as errors with a position", async () => {
    const a = await analyze("WITH cells AS (SELECT gene_id FROM genes) SELECT * FROM cells, my_cell");
    expect(a.tables.has("cells")).toBe(false);
    expect(columns(a, "genes")).toEqual(["gene_id"]);
    expect(a.namedResults).toEqual(["my_cell"]);
    const e = await analyze("SELECT 1\nFROM  nope").catch((x: unknown) => x);
    expect((e as AppFailure).appError).toMatchObject({ code: "QUERY_INVALID", position: { line: 2, column: 7, offset: 16 } });
    expect((e as AppFailure).appError.message).toContain("cells, genes, expression; named results: my_cell");
  });
});

describe("predicates", () => {
  it("pushes simple predicates and leaves the rest", async () => {
    const a = await analyze(
      "SELECT 1 FROM cells WHERE cell_type IN ('B', 'NK') AND nCount_RNA BETWEEN 10 AND 20.5 AND cell_type IS NOT NULL AND lower(cell_type) = 'b' AND percent_mt < 0.5 AND percent_mt > 2",
    );
    expect(filters(a, "cells")).toEqual(["(`cell_type` IN ('B', 'NK') AND `nCount_RNA` BETWEEN 10 AND 20.5 AND `cell_type` IS NOT NULL AND `percent_mt` > 2)"]);
  });

  it("never pushes constants a column cannot hold, or mixed-table ORs", async () => {
    const a = await analyze(
      "SELECT 1 FROM expression e JOIN cells c ON c.cell_integer_id = e.cell_integer_id WHERE e.value > -1 AND e.value < 70000 AND e.value > 2.5 AND (e.value = 1 OR c.cell_type = 'B') AND 5 < e.value",
    );
    expect(filters(a, "expression")).toEqual(["`value` > 5"]);
  });

  it("links expression ids to filtered cells and genes through inner joins and IN subqueries only", async () => {
    const a = await analyze(
      "SELECT 1 FROM cells c JOIN expression e ON c.cell_integer_id = e.cell_integer_id JOIN genes g ON g.gene_integer_id = e.gene_integer_id WHERE c.cell_type = 'B'",
    );
    const e = a.tables.get("expression")!.refs[0];
    expect(e.links.map((l) => `${l.column}<-${a.refs.get(l.sourceRefId)!.table}.${l.sourceColumn}`).sort()).toEqual([
      "cell_integer_id<-cells.cell_integer_id",
      "gene_integer_id<-genes.gene_integer_id",
    ]);
    const left = await analyze("SELECT 1 FROM cells c LEFT JOIN expression e ON c.cell_integer_id = e.cell_integer_id WHERE c.cell_type = 'B'");
    expect(left.tables.get("expression")!.refs[0].links).toEqual([]);
    const sub = await analyze("SELECT 1 FROM expression WHERE gene_integer_id IN (SELECT gene_integer_id FROM genes WHERE highly_variable = true)");
    expect(sub.tables.get("expression")!.refs[0].links).toEqual([
      { column: "gene_integer_id", sourceRefId: expect.any(Number), sourceColumn: "gene_integer_id" },
    ]);
    expect(filters(sub, "genes")).toEqual(["`highly_variable` = true"]);
  });

  it("links expression ids to the integer columns of a named result joined or IN-selected, never through an outer join", async () => {
    const withRelations: Catalog = {
      ...catalog,
      relations: new Map([
        [
          "my_cell",
          {
            name: "my_cell",
            rowCount: 20,
            byLower: new Map([
              ["cell_integer_id", { name: "cell_integer_id", kind: ANY_INT }],
              ["cell_type", { name: "cell_type", kind: { kind: "string" } }],
            ]),
          },
        ],
      ]),
    };
    const links = async (sql: string) => {
      const a = analyzeQuery(await parseSql(conn, sql), withRelations);
      return a.tables
        .get("expression")!
        .refs[0].links.map((l) => `${l.column}<-${a.relations.get(l.sourceRefId)?.name ?? a.refs.get(l.sourceRefId)?.table}.${l.sourceColumn}`);
    };
    expect(await links("SELECT 1 FROM my_cell m JOIN expression e ON m.cell_integer_id = e.cell_integer_id")).toEqual([
      "cell_integer_id<-my_cell.cell_integer_id",
    ]);
    expect(await links("SELECT 1 FROM expression WHERE cell_integer_id IN (SELECT cell_integer_id FROM my_cell)")).toEqual([
      "cell_integer_id<-my_cell.cell_integer_id",
    ]);
    expect(await links("SELECT 1 FROM my_cell m LEFT JOIN expression e ON m.cell_integer_id = e.cell_integer_id")).toEqual([]);
    expect(await links("SELECT 1 FROM my_cell m JOIN expression e ON m.cell_type = e.cell_integer_id")).toEqual([]);
    // Without column facts (catalog.relations), a named result is never an id source.
    const bare = analyzeQuery(await parseSql(conn, "SELECT 1 FROM my_cell m JOIN expression e ON m.cell_integer_id = e.cell_integer_id"), catalog);
    expect(bare.tables.get("expression")!.refs[0].links).toEqual([]);
  });
});

describe("parse helpers", () => {
  it("maps character offsets to 1-based positions (code points, like DuckDB)", () => {
    expect(positionAt("ab\ncd", 0)).toEqual({ line: 1, column: 1, offset: 1 });
    expect(positionAt("ab\ncd", 4)).toEqual({ line: 2, column: 2, offset: 5 });
    expect(positionAt("'é€'\nx", 5)).toEqual({ line: 2, column: 1, offset: 6 });
  });

  it("runs a query into a table through DuckDB's own statement splitting: `;` in strings, quotes and comments stays", async () => {
    const cases: [string, string, unknown][] = [
      ["SELECT E'\\';' AS x", "x", "';"],
      ["SELECT E'\\';' AS x;", "x", "';"],
      ["SELECT E'a\\'b;c' AS x ; ;", "x", "a'b;c"],
      ["SELECT $$a;b$$ AS x ;  ; ", "x", "a;b"],
      ["SELECT $tag$ ; $$ ; $tag$ AS x;", "x", " ; $$ ; "],
      ['SELECT 1 AS "a;b"; -- the end;', "a;b", 1],
      ["SELECT 'x' AS y -- a comment; no newline", "y", "x"],
      ["SELECT 'x' /* ; */ AS y; /* ; */ ;", "y", "x"],
      ["SELECT ';' AS z -- x;\n;", "z", ";"],
    ];
    for (const [sql, column, expected] of cases) {
      await createTableAs(conn, "split_test", sql);
      const reader = await conn.runAndReadAll("SELECT * FROM split_test");
      expect([reader.columnNames(), reader.getRowsJS()], sql).toEqual([[column], [[expected]]]);
    }
    const e = await createTableAs(conn, "split_test", "SELECT 1; SELECT 2").catch((x: AppFailure) => x);
    expect((e as AppFailure).appError?.code).toBe("QUERY_INVALID");
  });
});
