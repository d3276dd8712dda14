import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DatasetService } from "../../../main/services/datasets/service";
import { NotebookService } from "../../../main/services/notebooks/service";
import { tempDir } from "../../fixtures/slaf-fixture";
import { recorder } from "./helpers";

let dir: string;
let svc: NotebookService;

beforeEach(async () => {
  dir = await tempDir("slafwb-nb-safe-");
  svc = new NotebookService(recorder().emit, new DatasetService(), { userDataDir: dir, debounceMs: 20 });
});
afterEach(async () => {
  svc.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

async function readError(file: string) {
  const r = await svc.read({ path: file });
  if (r.ok) throw new Error(`expected reading ${file} to fail`);
  return r.error;
}

describe("notebooks.read reads only regular files under 16 MB", () => {
  it("refuses /dev/zero and a notebook that links to it (before: read until memory ran out)", async () => {
    expect(await readError("/dev/zero")).toMatchObject({
      code: "NOTEBOOK_INVALID",
      message: "/dev/zero is a device, not a notebook file; only regular files are read",
    });
    const link = path.join(dir, "zero.slafnb.md");
    await fs.symlink("/dev/zero", link);
    expect(await readError(link)).toMatchObject({ code: "NOTEBOOK_INVALID", path: link, message: expect.stringContaining(`${link} is a device`) });
  });

  it("refuses FIFOs without blocking: four at once, and other reads still run", async () => {
    const fifos = [1, 2, 3, 4].map((i) => path.join(dir, `pipe${i}.slafnb.md`));
    for (const f of fifos) execFileSync("mkfifo", [f]);
    const good = path.join(dir, "good.slafnb.md");
    await fs.writeFile(good, "# fine\n");
    const errors = await Promise.all(fifos.map(readError));
    const ok = await svc.read({ path: good });
    expect(errors.map((e) => e.code)).toEqual(["NOTEBOOK_INVALID", "NOTEBOOK_INVALID", "NOTEBOOK_INVALID", "NOTEBOOK_INVALID"]);
    expect(errors[0].message).toBe(`${fifos[0]} is a FIFO (named pipe), not a notebook file; only regular files are read`);
    expect(ok.ok && ok.value.text).toBe("# fine\n");
  });

  it("refuses a folder and a file over the cap, naming the cap and the size", async () => {
    expect(await readError(dir)).toMatchObject({ code: "NOTEBOOK_NOT_FOUND", message: `${dir} is a folder, not a notebook` });
    const big = path.join(dir, "big.slafnb.md");
    await fs.writeFile(big, "");
    await fs.truncate(big, 17 * 1024 * 1024); // sparse
    expect(await readError(big)).toMatchObject({ code: "NOTEBOOK_INVALID", message: `${big} is 17.0 MB, over the 16.0 MB limit for a notebook file` });
  });
});

describe("the service keeps nothing for files it no longer watches or writes", () => {
  it("holds no state for unwatched saves, and drops a file's state with its last unwatch", async () => {
    for (let i = 0; i < 40; i++) {
      const r = await svc.write({ path: path.join(dir, `n${i}.slafnb.md`), text: `${i}\n`, expectedMtimeMs: null });
      expect(r.ok).toBe(true);
    }
    expect(svc.holdings()).toEqual({ watchedFiles: 0, queuedPaths: 0 });

    const file = path.join(dir, "watched.slafnb.md");
    await svc.watch({ path: file });
    await svc.watch({ path: file });
    let mtime: number | null = null;
    for (let k = 0; k < 5; k++) {
      const r = await svc.write({ path: file, text: `${k}\n`, expectedMtimeMs: mtime });
      if (!r.ok) throw new Error(r.error.message);
      mtime = r.value.mtimeMs;
    }
    expect(svc.holdings()).toEqual({ watchedFiles: 1, queuedPaths: 0 });
    await svc.unwatch({ path: file });
    expect(svc.holdings().watchedFiles).toBe(1);
    await svc.unwatch({ path: file });
    expect(svc.holdings()).toEqual({ watchedFiles: 0, queuedPaths: 0 });
  });
});
