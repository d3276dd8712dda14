import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetService } from "../../../main/services/datasets/service";
import type { AppError } from "../../../shared/result";
import { PROJECT_ROOT } from "../../fixtures/pbmc";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await tempDir();
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root, { cellsPerChunk: 50 });
});
afterAll(async () => {
  await fs.chmod(dir, 0o700).catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true });
});

async function copyOf(name: string): Promise<string> {
  const p = path.join(dir, `${name}.slaf`);
  await fs.cp(root, p, { recursive: true });
  return p;
}

async function firstFile(folder: string): Promise<string> {
  const names = (await fs.readdir(folder)).sort();
  return path.join(folder, names[0]);
}

async function openError(uri: string): Promise<AppError> {
  const service = new DatasetService();
  const r = await service.open({ uri });
  await service.closeAll();
  if (r.ok) throw new Error(`expected ${uri} to fail to open`);
  return r.error;
}

/** Opens `uri` (which must open) and reads a page of `table`, returning the error. */
async function readError(uri: string, table: string): Promise<AppError> {
  const service = new DatasetService();
  try {
    const opened = await service.open({ uri });
    if (!opened.ok) throw new Error(`${opened.error.code}: ${opened.error.message}`);
    const r = await service.readRows({ datasetId: opened.value.datasetId, table, offset: 0, limit: 100 });
    if (r.ok) throw new Error(`expected reading ${table} of ${uri} to fail`);
    return r.error;
  } finally {
    await service.closeAll();
  }
}

function expectNoRustPaths(e: AppError): void {
  expect(e.message).not.toMatch(/\/rustc\/|cargo|\.rs:\d/);
}

describe("damaged Lance tables are TABLE_CORRUPT, naming the table (and file), never INTERNAL with Rust paths", () => {
  it("a truncated data file", async () => {
    const p = await copyOf("truncated");
    const data = await firstFile(path.join(p, "cells.lance", "data"));
    await fs.truncate(data, Math.floor((await fs.stat(data)).size / 2));
    const e = await readError(p, "cells");
    expect(e).toMatchObject({ code: "TABLE_CORRUPT", path: path.join(p, "cells.lance"), detail: expect.stringContaining("failed to fill whole buffer") });
    expect(e.message).toBe(
      `Table "cells" (${path.join(p, "cells.lance")}) is damaged: a file is shorter than Lance expects (truncated, for example by an interrupted copy or download). Copy or convert the dataset again.`,
    );
    expectNoRustPaths(e);
  });

  it("a deleted data file, named in the message", async () => {
    const p = await copyOf("deleted");
    const data = await firstFile(path.join(p, "cells.lance", "data"));
    await fs.rm(data);
    const e = await readError(p, "cells");
    expect(e).toMatchObject({ code: "TABLE_CORRUPT", path: data, message: expect.stringContaining(`one of its data files is missing: ${data}`) });
    expectNoRustPaths(e);
  });

  it("a data file overwritten with other bytes", async () => {
    const p = await copyOf("overwritten");
    const data = await firstFile(path.join(p, "cells.lance", "data"));
    await fs.writeFile(data, Buffer.alloc((await fs.stat(data)).size, 0x55));
    expect(await readError(p, "cells")).toMatchObject({ code: "TABLE_CORRUPT", message: expect.stringContaining('Table "cells"') });
  });

  it("a corrupt manifest fails the open", async () => {
    const p = await copyOf("manifest");
    const versions = path.join(p, "genes.lance", "_versions");
    const manifest = path.join(
      versions,
      (await fs.readdir(versions)).find((f) => f.endsWith(".manifest"))!,
    );
    await fs.writeFile(manifest, Buffer.alloc((await fs.stat(manifest)).size, 0x41));
    const e = await openError(p);
    expect(e).toMatchObject({
      code: "TABLE_CORRUPT",
      path: path.join(p, "genes.lance"),
      message: expect.stringContaining(`Table "genes" (${path.join(p, "genes.lance")}) is damaged`),
    });
    expectNoRustPaths(e);
  });
});

describe("table folders and config.json that are not what they seem", () => {
  it("a table folder that is a link out of the dataset is refused; a link inside it is fine", async () => {
    const p = await copyOf("link-out");
    await fs.rm(path.join(p, "cells.lance"), { recursive: true });
    await fs.symlink(path.join(root, "cells.lance"), path.join(p, "cells.lance"));
    expect(await openError(p)).toMatchObject({
      code: "TABLE_OUTSIDE_DATASET",
      path: path.join(p, "cells.lance"),
      message: `Table "cells" at ${path.join(p, "cells.lance")} is a link to ${path.join(root, "cells.lance")}, outside the dataset folder ${p}; tables must live inside the dataset folder`,
    });
    const q = await copyOf("link-in");
    await fs.mkdir(path.join(q, "store"));
    await fs.rename(path.join(q, "cells.lance"), path.join(q, "store", "cells.lance"));
    await fs.symlink(path.join("store", "cells.lance"), path.join(q, "cells.lance"));
    const service = new DatasetService();
    expect((await service.open({ uri: q })).ok).toBe(true);
    await service.closeAll();
  });

  it("a table link that leads nowhere is a missing table", async () => {
    const p = await copyOf("link-dangling");
    await fs.rm(path.join(p, "genes.lance"), { recursive: true });
    await fs.symlink(path.join(dir, "gone.lance"), path.join(p, "genes.lance"));
    expect(await openError(p)).toMatchObject({
      code: "TABLE_MISSING",
      message: expect.stringContaining(`is a link to ${path.join(dir, "gone.lance")}, which does not exist`),
    });
  });

  it("a table that is a file, not a folder", async () => {
    const p = await copyOf("table-file");
    await fs.rm(path.join(p, "cells.lance"), { recursive: true });
    await fs.writeFile(path.join(p, "cells.lance"), "not a folder");
    expect(await openError(p)).toMatchObject({
      code: "TABLE_NOT_LANCE",
      message: `Table "cells" at ${path.join(p, "cells.lance")} is a file, not a Lance dataset folder`,
    });
  });

  it("config.json that is a folder", async () => {
    const p = path.join(dir, "config-folder.slaf");
    await fs.mkdir(path.join(p, "config.json"), { recursive: true });
    expect(await openError(p)).toMatchObject({
      code: "CONFIG_INVALID",
      message: `${path.join(p, "config.json")} is a folder; a SLAF dataset's config.json is a JSON file`,
    });
  });

  it("config.json that is a FIFO or a link to /dev/zero is refused at once; four FIFO datasets leave other opens working", async () => {
    const fifos: string[] = [];
    for (let i = 0; i < 4; i++) {
      const p = path.join(dir, `fifo${i}.slaf`);
      await fs.mkdir(p);
      execFileSync("mkfifo", [path.join(p, "config.json")]);
      fifos.push(p);
    }
    const zero = path.join(dir, "zero.slaf");
    await fs.mkdir(zero);
    await fs.symlink("/dev/zero", path.join(zero, "config.json"));
    // Before: each FIFO open held one of libuv's four threads forever, so the good open below never finished.
    const errors = await Promise.all(fifos.map((p) => openError(p)));
    const service = new DatasetService();
    const good = await service.open({ uri: root });
    await service.closeAll();
    expect(good.ok).toBe(true);
    for (const [i, e] of errors.entries()) {
      expect(e).toMatchObject({
        code: "CONFIG_INVALID",
        message: `${path.join(fifos[i], "config.json")} is a FIFO (named pipe), not a config.json file; only regular files are read`,
      });
    }
    expect(await openError(zero)).toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining(`${path.join(zero, "config.json")} is a device`) });
  });

  it("config.json over the 4 MB cap", async () => {
    const p = path.join(dir, "huge-config.slaf");
    await fs.mkdir(p);
    await fs.writeFile(path.join(p, "config.json"), "");
    await fs.truncate(path.join(p, "config.json"), 5 * 1024 * 1024);
    expect(await openError(p)).toMatchObject({
      code: "CONFIG_INVALID",
      message: `${path.join(p, "config.json")} is 5.0 MB, over the 4.0 MB limit for a config.json file`,
    });
  });

  it("a path below a file (ENOTDIR) is not found, saying why", async () => {
    const file = path.join(dir, "plain.txt");
    await fs.writeFile(file, "x");
    const p = path.join(file, "data.slaf");
    expect(await openError(p)).toMatchObject({ code: "DATASET_NOT_FOUND", message: `No folder at ${p}: a part of the path is a file, not a folder` });
  });
});

describe("permission errors are PERMISSION_DENIED, not 'not found'", () => {
  const isRoot = process.getuid?.() === 0;

  /** Opens `uri` with the CLI run as nobody (root reads every file, so only another user sees EACCES). */
  function openAsNobody(uri: string): string {
    const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "dist", "main", "cli.mjs"), "query", uri, "SELECT 1"], {
      uid: 65534,
      gid: 65534,
      encoding: "utf8",
      // Its own (absent) user data: nobody cannot read root's settings.json, which would add a warning line.
      env: { ...process.env, SLAFWB_USER_DATA: path.join(dir, "nobody-user-data") },
    });
    return r.stderr.trim();
  }

  it.skipIf(!isRoot)("an unreadable dataset folder and table folder (as root: checked by the CLI run as nobody)", async () => {
    await fs.chmod(dir, 0o755);
    const p = await copyOf("no-access");
    const q = await copyOf("no-access-table");
    await fs.chmod(p, 0o000);
    await fs.chmod(path.join(q, "cells.lance"), 0o000);
    expect(openAsNobody(p)).toBe(
      `PERMISSION_DENIED: Permission denied reading ${path.join(p, "config.json")}; check who owns the dataset's files and their permissions`,
    );
    expect(openAsNobody(q)).toBe(
      `PERMISSION_DENIED: Permission denied reading table "cells" at ${path.join(q, "cells.lance")}; check who owns its files and their permissions`,
    );
    await fs.chmod(p, 0o755);
    await fs.chmod(path.join(q, "cells.lance"), 0o755);
  });

  it.skipIf(isRoot)("an unreadable dataset folder and table folder (not root: checked in process)", async () => {
    const p = await copyOf("no-access");
    const q = await copyOf("no-access-table");
    await fs.chmod(p, 0o000);
    await fs.chmod(path.join(q, "cells.lance"), 0o000);
    try {
      expect(await openError(p)).toMatchObject({ code: "PERMISSION_DENIED", path: path.join(p, "config.json") });
      expect(await openError(q)).toMatchObject({
        code: "PERMISSION_DENIED",
        message: expect.stringContaining(`Permission denied reading table "cells" at ${path.join(q, "cells.lance")}`),
      });
    } finally {
      await fs.chmod(p, 0o755);
      await fs.chmod(path.join(q, "cells.lance"), 0o755);
    }
  });
});
