import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertFile } from "../../../main/services/convert/convert";
import { DatasetService } from "../../../main/services/datasets/service";
import { DATA_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await tempDir("slafwb-lanceformat-");
  root = path.join(dir, "pbmc3k.slaf");
  await convertFile(path.join(DATA_DIR, "pbmc3k.h5ad"), root, { chunkCells: 50 });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function files(folder: string, ext: string): Promise<string[]> {
  return (await fs.readdir(folder)).filter((f) => f.endsWith(ext)).map((f) => path.join(folder, f));
}

describe("SLAF 0.5 on disk", () => {
  it("writes every table in Lance file format 2.2", async () => {
    for (const table of ["cells", "genes", "expression"]) {
      const data = await files(path.join(root, `${table}.lance`, "data"), ".lance");
      expect(data.length, table).toBeGreaterThan(0);
      for (const file of data) {
        const bytes = await fs.readFile(file);
        // Footer: major u16, minor u16 (little-endian), then the magic "LANC".
        const tail = bytes.subarray(bytes.length - 8);
        expect([tail.readUInt16LE(0), tail.readUInt16LE(2), tail.subarray(4).toString("latin1")], file).toEqual([2, 2, "LANC"]);
      }
    }
  });

  it("uses V2 manifest paths (zero-padded u64::MAX - version)", async () => {
    for (const table of ["cells", "genes", "expression"]) {
      const manifests = (await fs.readdir(path.join(root, `${table}.lance`, "_versions"))).filter((f) => f.endsWith(".manifest"));
      expect(manifests.length, table).toBeGreaterThan(0);
      for (const m of manifests) expect(m, table).toMatch(/^\d{20}\.manifest$/);
    }
  });

  it("appends one fragment per chunk of cells", async () => {
    const service = new DatasetService();
    const ds = await service.acquire(root);
    expect(ds.summary.tables.find((t) => t.name === "expression")?.fragments).toBe(Math.ceil(160 / 50));
    await service.closeAll();
  });
});
