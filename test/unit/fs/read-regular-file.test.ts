import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileReadError, readRegularFile, settleWithin } from "../../../main/services/fs/read-regular-file";
import { tempDir } from "../../fixtures/slaf-fixture";

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const LIMITS = { maxBytes: 1024 * 1024, what: "notebook" };

async function refusal(file: string, limits = LIMITS): Promise<FileReadError> {
  const e = await readRegularFile(file, limits).then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof FileReadError)) throw new Error(`expected a FileReadError, got ${String(e)}`);
  return e;
}

describe("readRegularFile reads only regular files, under a cap", () => {
  it("reads a regular file with its mtime", async () => {
    const p = path.join(dir, "a.txt");
    await fs.writeFile(p, "héllo");
    const r = await readRegularFile(p, LIMITS);
    expect(r.bytes.toString("utf8")).toBe("héllo");
    expect(r.size).toBe(6);
    expect(r.mtimeMs).toBe((await fs.stat(p)).mtimeMs);
  });

  it("refuses /dev/zero and a link to it without reading", async () => {
    expect(await refusal("/dev/zero")).toMatchObject({
      problem: "not-regular",
      message: "/dev/zero is a device, not a notebook file; only regular files are read",
    });
    const link = path.join(dir, "zero.slafnb.md");
    await fs.symlink("/dev/zero", link);
    expect(await refusal(link)).toMatchObject({ problem: "not-regular", message: expect.stringContaining(`${link} is a device`) });
  });

  it("refuses a FIFO without blocking, and four FIFOs at once leave other reads running", async () => {
    const fifos = [1, 2, 3, 4].map((i) => path.join(dir, `pipe${i}`));
    for (const f of fifos) execFileSync("mkfifo", [f]);
    const plain = path.join(dir, "plain.txt");
    await fs.writeFile(plain, "still readable");
    // Node's thread pool has 4 threads: four blocked opens would stall every later file operation.
    const refused = await Promise.all(fifos.map((f) => refusal(f)));
    const [read, viaFs] = await Promise.all([readRegularFile(plain, LIMITS), fs.readFile(plain, "utf8")]);
    expect(refused.map((e) => e.problem)).toEqual(["not-regular", "not-regular", "not-regular", "not-regular"]);
    expect(refused[0].message).toBe(`${fifos[0]} is a FIFO (named pipe), not a notebook file; only regular files are read`);
    expect(read.bytes.toString()).toBe("still readable");
    expect(viaFs).toBe("still readable");
  });

  it("refuses a folder, a missing file and a path under a file, each by name", async () => {
    expect(await refusal(dir)).toMatchObject({ problem: "directory", message: `${dir} is a folder, not a notebook file` });
    expect(await refusal(path.join(dir, "nope.md"))).toMatchObject({ problem: "missing", message: `No notebook file at ${path.join(dir, "nope.md")}` });
    const file = path.join(dir, "file.txt");
    await fs.writeFile(file, "x");
    expect(await refusal(path.join(file, "below.md"))).toMatchObject({ problem: "missing", message: expect.stringContaining("a part of the path is a file") });
  });

  it("refuses a file over the cap, naming the cap and the size", async () => {
    const big = path.join(dir, "big.md");
    await fs.writeFile(big, "");
    await fs.truncate(big, 3 * 1024 * 1024); // sparse: takes no disk space
    expect(await refusal(big)).toMatchObject({ problem: "too-large", message: `${big} is 3.0 MB, over the 1.0 MB limit for a notebook file` });
  });

  it("fails a step that makes no progress instead of waiting forever", async () => {
    const never = new Promise<never>(() => undefined);
    await expect(settleWithin(never, 5, () => new Error("stalled"))).rejects.toThrow("stalled");
    await expect(settleWithin(Promise.resolve(7), 60_000, () => new Error("stalled"))).resolves.toBe(7);
  });
});
