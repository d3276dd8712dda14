/** Issue 8 item 8: leftovers of killed conversions are removed by the next conversion (or start); live ones are kept. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanStaleConversions, currentOwner, OWNER_FILE, ownerAlive, processStart } from "../../../main/services/convert/stale";
import { synthesize } from "../../../main/services/convert/synth";
import { PBMC_DIR, PROJECT_ROOT } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";

const CLI = path.join(PROJECT_ROOT, "dist", "main", "cli.mjs");

let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await tempDir("slafwb-stale-");
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once("exit", r)) : null)));
  await fs.rm(dir, { recursive: true, force: true });
});

/** The PID of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}

async function waitFor<T>(probe: () => Promise<T | null | undefined | false>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function entries(where: string, pattern: RegExp): Promise<string[]> {
  return (await fs.readdir(where).catch(() => [] as string[])).filter((n) => pattern.test(n));
}

function cli(args: string[], tmp: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  return child;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code))));

describe("owner of a conversion folder", () => {
  it("is alive while its process runs with the recorded start time, gone when the process exited or the PID was reused", async () => {
    const me = currentOwner();
    expect(me.started).toBe(processStart(process.pid));
    expect(ownerAlive(me)).toBe(true);
    expect(ownerAlive({ pid: process.pid })).toBe(true);
    expect(ownerAlive({ ...me, started: "1" })).toBe(false);
    expect(ownerAlive({ pid: await deadPid() })).toBe(false);
    expect(ownerAlive({ pid: await deadPid(), host: `${os.hostname()}-elsewhere` })).toBe(true);
  });
});

describe("cleanStaleConversions", () => {
  it("removes dead conversions' folders, restores a swapped-out output, and keeps live and unrelated ones", async () => {
    const where = path.join(dir, "sweep");
    await fs.mkdir(where);
    const dead = await deadPid();
    const mk = async (name: string, owner?: object) => {
      await fs.mkdir(path.join(where, name));
      await fs.writeFile(path.join(where, name, "data.bin"), "x");
      if (owner) await fs.writeFile(path.join(where, name, OWNER_FILE), JSON.stringify(owner));
    };
    await mk(`.a.slaf.converting-${dead}-0a1b2c3d`);
    await mk(`.b.slaf.converting-${process.pid}-0a1b2c3d`, currentOwner());
    await mk(`.c.slaf.converting-${process.pid}-beef0001`, { ...currentOwner(), started: "1" });
    await mk(`.d.slaf.replaced-${dead}-0a1b2c3d`);
    await mk(`.e.slaf.replaced-${dead}-0a1b2c3d`);
    await mk("e.slaf");
    await mk(`slafwb-run-${dead}-0a1b2c3d`, { pid: dead });
    await mk(`.f.slaf.converting-abc`);
    await mk("g.slaf");
    await fs.symlink(path.join(where, "g.slaf"), path.join(where, `.g.slaf.converting-${dead}-0a1b2c3d`));

    const done = await cleanStaleConversions([where, path.join(dir, "missing")]);
    expect(done.map((p) => path.basename(p)).sort()).toEqual(
      [
        `.a.slaf.converting-${dead}-0a1b2c3d`,
        `.c.slaf.converting-${process.pid}-beef0001`,
        `.d.slaf.replaced-${dead}-0a1b2c3d`,
        `.e.slaf.replaced-${dead}-0a1b2c3d`,
        `slafwb-run-${dead}-0a1b2c3d`,
      ].sort(),
    );
    expect((await fs.readdir(where)).sort()).toEqual(
      [`.b.slaf.converting-${process.pid}-0a1b2c3d`, `.f.slaf.converting-abc`, `.g.slaf.converting-${dead}-0a1b2c3d`, "d.slaf", "e.slaf", "g.slaf"].sort(),
    );
    expect(await fs.readFile(path.join(where, "d.slaf", "data.bin"), "utf8")).toBe("x");
  });
});

describe("a conversion killed mid-way (real CLI processes)", () => {
  it("leaves its folders, which the next conversion into that folder removes while a live conversion's are kept", async () => {
    const input = path.join(dir, "slow.h5ad");
    await synthesize(PBMC_DIR, input, { cells: 2000 });
    const out = path.join(dir, "out");
    const tmp = path.join(dir, "tmp");
    await fs.mkdir(out);
    await fs.mkdir(tmp);

    // One Lance append per cell: slow enough to be caught mid-way. Killed once expression data is on disk.
    const killed = cli(["convert", input, path.join(out, "killed.slaf"), "--chunk-cells", "1"], tmp);
    const killedFolder = await waitFor(async () => {
      const [name] = await entries(out, /^\.killed\.slaf\.converting-/);
      return name && (await entries(path.join(out, name, "expression.lance", "data"), /\.lance$/)).length > 0 ? name : null;
    });
    killed.kill("SIGKILL");
    await exited(killed);
    expect(killedFolder).toMatch(new RegExp(`^\\.killed\\.slaf\\.converting-${killed.pid}-[0-9a-f]+$`));
    const killedRun = await entries(tmp, new RegExp(`^slafwb-run-${killed.pid}-`));
    expect(killedRun).toHaveLength(1);
    expect(existsSync(path.join(out, killedFolder, OWNER_FILE))).toBe(true);

    // A live conversion in the same folder, stopped (SIGSTOP) so it stays mid-way while the next one runs.
    const live = cli(["convert", input, path.join(out, "live.slaf"), "--chunk-cells", "1"], tmp);
    const liveFolder = await waitFor(async () => {
      const [name] = await entries(out, /^\.live\.slaf\.converting-/);
      return name && existsSync(path.join(out, name, OWNER_FILE)) ? name : null;
    });
    live.kill("SIGSTOP");
    const liveRun = await entries(tmp, new RegExp(`^slafwb-run-${live.pid}-`));
    expect(liveRun).toHaveLength(1);

    const next = cli(["convert", PBMC_DIR, path.join(out, "next.slaf")], tmp);
    let stderr = "";
    next.stderr!.on("data", (b: Buffer) => (stderr += b));
    expect(await exited(next), stderr).toBe(0);

    expect(existsSync(path.join(out, killedFolder))).toBe(false);
    expect(existsSync(path.join(tmp, killedRun[0]))).toBe(false);
    expect(existsSync(path.join(out, liveFolder, OWNER_FILE))).toBe(true);
    expect(existsSync(path.join(tmp, liveRun[0]))).toBe(true);
    expect(existsSync(path.join(out, "next.slaf", "config.json"))).toBe(true);
    expect(existsSync(path.join(out, "next.slaf", OWNER_FILE))).toBe(false);
    // The finished conversion removed its own temp folder.
    expect(await entries(tmp, new RegExp(`^slafwb-run-${next.pid}-`))).toEqual([]);

    live.kill("SIGKILL");
    await exited(live);
  });
});
