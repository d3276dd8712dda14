import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrow } from "../../../main/services/arrow";
import { DatasetService } from "../../../main/services/datasets/service";
import { datasetArgument } from "../../../main/services/datasets/uri";
import { loadPbmc } from "../../fixtures/pbmc";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { unwrap } from "../../fixtures/result";

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await tempDir();
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("DatasetService.open", () => {
  it("reports tables, schema, row counts, fragments, bytes and config facts", async () => {
    const service = new DatasetService();
    const ds = unwrap(await service.open({ uri: root }));
    const byName = Object.fromEntries(ds.tables.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(["cells", "expression", "genes"]);
    expect(byName.cells.rows).toBe(160);
    expect(byName.genes.rows).toBe(8674);
    expect(byName.expression.rows).toBe(151_815);
    expect(byName.expression.fragments).toBe(4); // 160 cells written 50 per chunk
    expect(byName.expression.bytes).toBeGreaterThan(100_000);
    expect(byName.expression.columns.map((c) => `${c.name}:${c.type}`)).toEqual(["cell_integer_id:Uint32", "gene_integer_id:Uint16", "value:Uint16"]);
    expect(byName.cells.columns.find((c) => c.name === "X_umap")).toMatchObject({
      type: "FixedSizeList[2]<Float32>",
      kind: "list",
      fixedList: { size: 2, item: "float" },
    });
    expect(byName.expression.columns.map((c) => c.kind)).toEqual(["int", "int", "int"]);
    expect(byName.cells.columns.find((c) => c.name === "cell_type")).toMatchObject({ kind: "string" });
    expect(byName.cells.columns.find((c) => c.name === "cell_type")).not.toHaveProperty("fixedList");
    expect(ds.config).toMatchObject({ formatVersion: "0.5", nCells: 160, nGenes: 8674, expressionCount: 151_815 });
    expect(ds.config.sparsity).toBeCloseTo(1 - 151_815 / (160 * 8674), 10);
    expect(ds.name).toBe("pbmc");
    await service.closeAll();
  });

  it("shares one handle per dataset and closes it when the last reference goes", async () => {
    const service = new DatasetService();
    const a = unwrap(await service.open({ uri: root }));
    const b = unwrap(await service.open({ uri: `${root}/` }));
    expect(b.datasetId).toBe(a.datasetId);
    unwrap(await service.close({ datasetId: a.datasetId }));
    expect(unwrap(await service.readRows({ datasetId: a.datasetId, table: "cells", offset: 0, limit: 1 })).numRows).toBe(1);
    unwrap(await service.close({ datasetId: a.datasetId }));
    const gone = await service.readRows({ datasetId: a.datasetId, table: "cells", offset: 0, limit: 1 });
    expect(gone.ok ? null : gone.error.code).toBe("DATASET_NOT_OPEN");
    expect(unwrap(await service.list({})).length).toBe(0);
  });
});

describe("DatasetService.readRows", () => {
  it("pages any window of the expression table as Arrow IPC, matching the source matrix", async () => {
    const service = new DatasetService();
    const ds = unwrap(await service.open({ uri: root }));
    const page = unwrap(await service.readRows({ datasetId: ds.datasetId, table: "expression", offset: 100_000, limit: 300 }));
    expect(page).toMatchObject({ offset: 100_000, numRows: 300, totalRows: 151_815 });
    const t = arrow.tableFromIPC(page.arrow);
    const pbmc = loadPbmc();
    const flat: [number, number, number][] = [];
    pbmc.cells.forEach((c, ci) => c.genes.forEach((g, k) => flat.push([ci, g, c.values[k]])));
    for (const i of [0, 1, 150, 299]) {
      const row = [t.getChild("cell_integer_id")!.get(i), t.getChild("gene_integer_id")!.get(i), t.getChild("value")!.get(i)];
      expect(row).toEqual(flat[100_000 + i]);
    }
    const tail = unwrap(await service.readRows({ datasetId: ds.datasetId, table: "expression", offset: 151_800, limit: 500 }));
    expect(tail.numRows).toBe(15);
    const cols = unwrap(await service.readRows({ datasetId: ds.datasetId, table: "cells", offset: 0, limit: 3, columns: ["cell_id", "cell_type"] }));
    expect(arrow.tableFromIPC(cols.arrow).schema.fields.map((f) => f.name)).toEqual(["cell_id", "cell_type"]);
    const bad = await service.readRows({ datasetId: ds.datasetId, table: "cells", offset: 0, limit: 3, columns: ["nope"] });
    expect(bad.ok ? null : bad.error.message).toContain("nope");
    const unknown = await service.readRows({ datasetId: ds.datasetId, table: "layers", offset: 0, limit: 3 });
    expect(unknown.ok ? null : unknown.error).toMatchObject({ code: "TABLE_UNKNOWN" });
    await service.closeAll();
  });
});

describe("opening never writes", () => {
  it("leaves every byte and file of the dataset as it was", async () => {
    const before = await snapshotTree(root);
    const service = new DatasetService();
    const ds = unwrap(await service.open({ uri: root }));
    for (const t of ds.tables) unwrap(await service.readRows({ datasetId: ds.datasetId, table: t.name, offset: 5, limit: 100 }));
    await service.closeAll();
    expect(await snapshotTree(root)).toEqual(before);
  });
});

describe("bad datasets get one distinct error each, naming the path", () => {
  async function openError(uri: string) {
    const service = new DatasetService();
    const r = await service.open({ uri });
    await service.closeAll();
    if (r.ok) throw new Error("expected an error");
    return r.error;
  }

  it("path missing", async () => {
    const p = path.join(dir, "nowhere.slaf");
    expect(await openError(p)).toMatchObject({ code: "DATASET_NOT_FOUND", path: p, message: expect.stringContaining(p) });
  });

  it("a URI of a source that is not read (gs://, https://) is named as such, not looked for as a local path", async () => {
    for (const uri of ["gs://bucket/atlas.slaf", "https://example.org/atlas.slaf", "GS://bucket/x"]) {
      const e = await openError(uri);
      expect(e.code, uri).toBe("SOURCE_UNSUPPORTED");
      expect(e.message, uri).toMatch(/^gs:\/\/|^https:\/\//);
      expect(e.message, uri).toContain("hf://datasets/");
    }
    expect(datasetArgument("gs://bucket/x")).toBe("gs://bucket/x");
    expect(datasetArgument("file:///data/x.slaf")).toBe("file:///data/x.slaf");
    expect(datasetArgument("rel/x.slaf")).toBe(path.resolve("rel/x.slaf"));
  });

  it("a file:// URI opens the local folder it names", async () => {
    const service = new DatasetService();
    const ds = unwrap(await service.open({ uri: `file://${root}` }));
    await service.closeAll();
    expect(ds.source).toBe("local");
    expect(ds.tables.map((t) => t.name).sort()).toEqual(["cells", "expression", "genes"]);
  });

  it("not a directory", async () => {
    const p = path.join(dir, "file.txt");
    await fs.writeFile(p, "hello");
    expect(await openError(p)).toMatchObject({ code: "NOT_A_DIRECTORY", message: expect.stringContaining(p) });
  });

  it("no config.json", async () => {
    const p = path.join(dir, "empty.slaf");
    await fs.mkdir(p);
    expect(await openError(p)).toMatchObject({ code: "NOT_A_SLAF_DATASET", message: expect.stringContaining(p) });
  });

  it("config.json that is not JSON, or lacks tables", async () => {
    const p = path.join(dir, "badjson.slaf");
    await fs.mkdir(p);
    await fs.writeFile(path.join(p, "config.json"), '{"format_version": "0.5", ');
    expect(await openError(p)).toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining(path.join(p, "config.json")) });
    await fs.writeFile(path.join(p, "config.json"), '{"format_version": "0.5", "tables": {"cells": "cells.lance"}}');
    expect(await openError(p)).toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining("genes, expression") });
  });

  it("a listed table that is missing", async () => {
    const p = path.join(dir, "missing-table.slaf");
    await fs.cp(root, p, { recursive: true });
    await fs.rm(path.join(p, "genes.lance"), { recursive: true });
    expect(await openError(p)).toMatchObject({ code: "TABLE_MISSING", message: expect.stringContaining(path.join(p, "genes.lance")) });
  });

  it("a table that is not Lance", async () => {
    const p = path.join(dir, "junk-table.slaf");
    await fs.cp(root, p, { recursive: true });
    await fs.rm(path.join(p, "cells.lance"), { recursive: true });
    await fs.mkdir(path.join(p, "cells.lance"));
    await fs.writeFile(path.join(p, "cells.lance", "data.csv"), "a,b\n1,2\n");
    expect(await openError(p)).toMatchObject({ code: "TABLE_NOT_LANCE", message: expect.stringContaining(path.join(p, "cells.lance")) });
    const q = path.join(dir, "bad-suffix.slaf");
    await fs.cp(root, q, { recursive: true });
    const config = JSON.parse(await fs.readFile(path.join(q, "config.json"), "utf8"));
    config.tables.cells = "cells.parquet";
    await fs.writeFile(path.join(q, "config.json"), JSON.stringify(config));
    await fs.writeFile(path.join(q, "cells.parquet"), "PAR1");
    expect(await openError(q)).toMatchObject({ code: "TABLE_NOT_LANCE", message: expect.stringContaining("cells.parquet") });
  });

  it("a table path that climbs out of the dataset", async () => {
    const p = path.join(dir, "escape.slaf");
    await fs.cp(root, p, { recursive: true });
    const config = JSON.parse(await fs.readFile(path.join(p, "config.json"), "utf8"));
    config.tables.cells = "../pbmc.slaf/cells.lance";
    await fs.writeFile(path.join(p, "config.json"), JSON.stringify(config));
    expect(await openError(p)).toMatchObject({ code: "CONFIG_INVALID" });
  });
});
