/** Malformed loader calls stop at the door (INVALID_ARGUMENT); options the dataset cannot serve are named. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../../main/services/index";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { failure, unwrap } from "../../fixtures/result";
import { options } from "./service-helpers";

let dir: string;
let services: Services;
let datasetId: string;
const call = (ns: string, method: string, arg: unknown) => services.dispatcher.call(ns, method, arg, "page-req");

beforeAll(async () => {
  dir = await tempDir("slafwb-loader-req-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  services = testServices(path.join(dir, "user"));
  datasetId = (unwrap(await call("datasets", "open", { uri: root })) as { datasetId: string }).datasetId;
});

afterAll(async () => {
  await services?.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("at the door", () => {
  it.each([
    ["start", () => ({ datasetId, options: options({ tokenizer: "bert" as never }) }), /options\.tokenizer must be one of geneformer, scgpt, raw/],
    ["start", () => ({ datasetId, options: { ...options(), maxGenes: 0 } }), /options\.maxGenes/],
    ["start", () => ({ datasetId, options: { ...options(), batchSize: 2.5 } }), /options\.batchSize must be an integer/],
    ["start", () => ({ datasetId, options: { ...options(), extra: 1 } }), /unknown field "extra"/],
    ["start", () => ({ datasetId }), /options/],
    ["start", () => ({ datasetId: "../x", options: options() }), /datasetId must be a dataset id/],
    ["batch", () => ({ loaderId: "ld1", index: -1 }), /index must be an integer/],
    ["batch", () => ({ loaderId: "ld/1", index: 0 }), /loaderId must be a loader id/],
    ["play", () => ({ loaderId: "ld1", playing: "yes" }), /playing must be/],
    ["cell", () => ({ loaderId: "ld1", index: 0 }), /row/],
    ["export", () => ({ loaderId: "ld1", index: 0, format: "csv", path: "/tmp/x" }), /format must be one of json, npz/],
    ["export", () => ({ loaderId: "ld1", index: 0, format: "json", path: "" }), /path/],
  ])("loader.%s is INVALID_ARGUMENT naming the field", async (method, arg, message) => {
    const e = failure(await call("loader", method, arg()));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(message);
  });

  it("an unknown loader id is LOADER_NOT_FOUND", async () => {
    for (const method of ["status", "play", "batch", "cell", "compare"]) {
      const arg = { loaderId: "ld999", index: 0, row: 0, playing: true };
      const keep = {
        status: ["loaderId"],
        play: ["loaderId", "playing"],
        batch: ["loaderId", "index"],
        cell: ["loaderId", "index", "row"],
        compare: ["loaderId", "index"],
      }[method]!;
      expect(failure(await call("loader", method, Object.fromEntries(keep.map((k) => [k, arg[k as keyof typeof arg]])))).code).toBe("LOADER_NOT_FOUND");
    }
  });
});

describe("options the dataset cannot serve", () => {
  it.each([
    [{ labelColumn: "nope" }, "labelColumn", /has no column "nope"/],
    [{ labelColumn: "nCount_RNA" }, "labelColumn", /cannot label cells/],
    [{ labelColumn: "cell_id" }, "labelColumn", /cannot label cells/],
    [{ mode: "slafdb-0.5.2" as const, normalizeTotal: 10_000 }, "normalizeTotal", /do not exist in SLAF 0\.5\.2/],
    [{ mode: "slafdb-0.5.2" as const, log1p: true }, "log1p", /do not exist in SLAF 0\.5\.2/],
    [{ tokenizer: "raw" as const, log1p: true }, "log1p", /raw mode/],
    [{ batchSize: 4096, maxGenes: 2048 }, "batchSize", /more than a preview holds/],
    [{ mode: "canonical" as const, tokenizer: "geneformer" as const, maxGenes: 1 }, "maxGenes", /room for CLS and SEP/],
    [{ vocabSize: 4 }, "vocabSize", /more than 4/],
  ])("%j is LOADER_OPTIONS_INVALID naming %s", async (over, field, message) => {
    const e = failure(await call("loader", "start", { datasetId, options: options(over) }));
    expect(e.code).toBe("LOADER_OPTIONS_INVALID");
    expect(e.message).toMatch(new RegExp(`^Option ${field}: `));
    expect(e.message).toMatch(message);
    expect(e.detail).toBe(`field: options.${field}`);
  });

  it("a dataset that is not open is DATASET_NOT_OPEN", async () => {
    expect(failure(await call("loader", "start", { datasetId: "ds999", options: options() })).code).toBe("DATASET_NOT_OPEN");
  });
});
