import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enclosingDataset, realTargetPath, refuseWriteIntoDataset } from "../../../main/services/fs/write-guard";
import type { AppError } from "../../../shared/result";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await fs.realpath(await tempDir());
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  await fs.mkdir(path.join(dir, "work", "deeper"), { recursive: true });
  // Links a careless user (or a shared notebook) might write through.
  await fs.symlink(path.join(root, "cells.lance"), path.join(dir, "work", "into-table"));
  await fs.symlink(path.join(root, "config.json"), path.join(dir, "work", "config-link.json"));
  await fs.symlink(path.join(root, "not-yet.csv"), path.join(dir, "work", "dangling.csv"));
  await fs.symlink(root, path.join(dir, "dataset-link"));
  await fs.symlink("deeper", path.join(dir, "work", "relative-link"));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function refusal(target: string, openRoots: string[] = []): Promise<AppError | null> {
  try {
    await refuseWriteIntoDataset(target, "Cannot export there", openRoots);
    return null;
  } catch (e) {
    return (e as { appError: AppError }).appError;
  }
}

describe("realTargetPath resolves what a write would really hit", () => {
  it("follows links in order, applies .. to the real folder, and keeps the part that does not exist yet", async () => {
    expect(await realTargetPath(path.join(dir, "work", "into-table", "new", "x.csv"))).toBe(path.join(root, "cells.lance", "new", "x.csv"));
    expect(await realTargetPath(`${dir}/work/into-table/../x.csv`)).toBe(path.join(root, "x.csv"));
    expect(await realTargetPath(path.join(dir, "work", "dangling.csv"))).toBe(path.join(root, "not-yet.csv"));
    expect(await realTargetPath(path.join(dir, "work", "relative-link", "a.md"))).toBe(path.join(dir, "work", "deeper", "a.md"));
    expect(await enclosingDataset(path.join(root, "cells.lance", "data", "x"))).toBe(root);
    expect(await enclosingDataset(path.join(dir, "work", "x.csv"))).toBeNull();
  });
});

describe("the write guard refuses every path into a SLAF dataset, open or not", () => {
  it("a folder link into a dataset", async () => {
    const target = path.join(dir, "work", "into-table", "out.csv");
    expect(await refusal(target)).toEqual({
      code: "WRITE_INSIDE_DATASET",
      path: target,
      message: `Cannot export there: ${target} is inside the SLAF dataset ${root} (through a link: it resolves to ${path.join(root, "cells.lance", "out.csv")}), and SLAF Workbench never writes into a dataset; choose another place`,
    });
  });

  it("a file link to a dataset's config.json, and a dangling link that would create a file in one", async () => {
    expect(await refusal(path.join(dir, "work", "config-link.json"))).toMatchObject({
      code: "WRITE_INSIDE_DATASET",
      message: expect.stringContaining(`inside the SLAF dataset ${root}`),
    });
    expect(await refusal(path.join(dir, "work", "dangling.csv"))).toMatchObject({
      code: "WRITE_INSIDE_DATASET",
      message: expect.stringContaining(path.join(root, "not-yet.csv")),
    });
  });

  it("a new file (and new folders) inside a dataset that is not open", async () => {
    expect(await refusal(path.join(root, "export.csv"))).toMatchObject({ code: "WRITE_INSIDE_DATASET" });
    expect(await refusal(path.join(root, "notes", "deep", "nb.slafnb.md"))).toMatchObject({
      code: "WRITE_INSIDE_DATASET",
      message: expect.stringContaining(`inside the SLAF dataset ${root}`),
    });
  });

  it(".. tricks: after a link .. climbs from the real folder; a plain .. out of the dataset is fine", async () => {
    expect(await refusal(`${dir}/work/into-table/../sneaky.csv`)).toMatchObject({
      code: "WRITE_INSIDE_DATASET",
      message: expect.stringContaining(path.join(root, "sneaky.csv")),
    });
    expect(await refusal(`${dir}/work/../pbmc.slaf/cells.lance/x.csv`)).toMatchObject({ code: "WRITE_INSIDE_DATASET" });
    expect(await refusal(`${root}/../outside.csv`)).toBeNull();
    expect(await refusal(path.join(dir, "work", "relative-link", "fine.csv"))).toBeNull();
  });

  it("the dataset root itself: replaceable when closed, refused when open, also through a link or as its parent", async () => {
    expect(await refusal(root)).toBeNull();
    expect(await refusal(root, [root])).toMatchObject({
      code: "WRITE_INSIDE_DATASET",
      message: `Cannot export there: ${root} is the open dataset ${root}; close it first or choose another place`,
    });
    const link = path.join(dir, "dataset-link");
    expect(await refusal(link, [root])).toMatchObject({
      message: expect.stringContaining(`${link} is the open dataset ${root} (through a link: it resolves to ${root})`),
    });
    expect(await refusal(dir, [root])).toMatchObject({ message: expect.stringContaining(`${dir} holds the open dataset ${root}`) });
    expect(await refusal(path.join(dir, "other.slaf"), [root])).toBeNull();
  });
});
