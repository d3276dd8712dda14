/**
 * `slaf-workbench cache ...` through the built CLI (dist/main/cli.mjs), against the fake Hub: pin, list, size
 * cap, evict, clear; a CLI pin running while this process evicts from the same cache folder; a pin killed in the
 * middle of a transfer leaves a consistent cache.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../../main/commands/args";
import { cacheCommand } from "../../../main/commands/cache";
import { startGateway, type Gateway } from "../../../main/services/gateway";
import { cacheManager, type CacheUsage, type PinInfo } from "../../../main/services/gateway/cache-manager";
import { PROJECT_ROOT } from "../../fixtures/pbmc";
import { checkCachedBlocks, hubEnv, localSource, QUICK, type HubEnv } from "./helpers";
import { LOW_WATER } from "../../../main/services/gateway/cache-keeper";
import { blocksUnder, getThrough } from "./cache-helpers";

let env: HubEnv;
let userData: string;
let cacheDir: string;
const URI = "hf://datasets/acme/pbmc/pbmc.slaf";

beforeAll(async () => {
  env = await hubEnv();
  await env.upload("acme/pbmc");
  userData = path.join(env.dir, "user");
  cacheDir = path.join(userData, "cache");
});
afterAll(async () => {
  await env?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: env.hub.url, SLAFWB_USER_DATA: userData };
  delete childEnv.HF_TOKEN;
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "dist", "main", "cli.mjs"), "cache", ...args], {
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const cli = (...args: string[]): Promise<Run> => start(args).done;

async function json<T>(...args: string[]): Promise<T> {
  const r = await cli(...args, "--format", "json");
  if (r.code !== 0) throw new Error(`cache ${args.join(" ")}: ${r.code} ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

describe("cache command", () => {
  it("pins a table, lists it, keeps it under a cap of 0, and pins offline only what is local", async () => {
    const pinRun = await cli("pin", URI, "--table", "cells");
    expect(pinRun.stderr).toContain("Reading cells");
    expect(pinRun.code).toBe(0);
    expect(pinRun.stdout).toMatch(/^Pinned:\n {2}hf:\/\/datasets\/acme\/pbmc\/pbmc\.slaf@[0-9a-f]{40} {2}cells {2}/);

    const usage = await json<CacheUsage>("list");
    expect(usage.dir).toBe(cacheDir);
    expect(usage.pins).toEqual([expect.objectContaining({ table: "cells", columns: null, state: "complete", rows: 160 })]);
    expect(usage.entries.map((e) => e.table)).toEqual(expect.arrayContaining(["cells", "genes", "expression", null]));
    const text = await cli("list");
    expect(text.stdout).toMatch(/hf:\/\/datasets\/acme\/pbmc\/pbmc\.slaf +[0-9a-f]{12} \(main\) +cells +/);
    expect(text.stdout).toContain("Pins:");

    const sized = await cli("size", "--cap", "0");
    expect(sized.code).toBe(0);
    expect(sized.stdout).toMatch(/of a 0 B cap/);
    const size = await json<{ totalBytes: number; pinnedBytes: number; capBytes: number }>("size");
    expect(size.capBytes).toBe(0);
    expect(size.pinnedBytes).toBe(usage.pins[0].bytes);

    // Offline, a pin reads only the cache: the pinned table is all there, a table never read in full is not.
    expect((await cli("pin", URI, "--table", "cells", "--offline")).code).toBe(0);
    const miss = await cli("pin", URI, "--table", "expression", "--offline");
    expect(miss.code).toBe(1);
    expect(miss.stderr).toMatch(/^OFFLINE_NOT_CACHED: Table "expression": Offline, and pbmc\.slaf\/expression\.lance\/data\//m);
    expect((await json<CacheUsage>("list")).pins.map((p) => p.table)).toEqual(["cells"]);
    await cli("size", "--cap", "20GB");
  });

  it("unpins, evicts a table and clears; names bad input", async () => {
    await cli("pin", URI, "--table", "genes", "--columns", "gene_id");
    expect((await json<CacheUsage>("list")).pins.map((p) => `${p.table}:${p.columns?.join(",") ?? "*"}`).sort()).toEqual(["cells:*", "genes:gene_id"]);
    expect(await json("unpin", URI, "--table", "genes")).toEqual({ pinsRemoved: 1 });
    const evicted = await json<{ removedBytes: number; pinsRemoved: number }>("evict", `${URI}@main`, "--table", "cells");
    expect(evicted.pinsRemoved).toBe(1);
    expect(evicted.removedBytes).toBeGreaterThan(0);
    const usage = await json<CacheUsage>("list");
    expect(usage.pins).toEqual([]);
    expect(usage.entries.some((e) => e.table === "cells")).toBe(false);
    expect((await cli("clear")).stdout).toMatch(/^Removed .* of the cache\n$/);
    expect((await json<CacheUsage>("list")).entries).toEqual([]);

    const io = { out: () => undefined, err: () => undefined };
    for (const args of [
      [],
      ["bogus"],
      ["pin"],
      ["pin", URI, "--columns", "a"],
      ["size", "--cap", "lots"],
      ["list", "--format", "xml"],
      ["evict", URI, "--table", "a", "--table", "b"],
      ["clear", "x"],
    ]) {
      await expect(cacheCommand(args, io, userData), args.join(" ")).rejects.toBeInstanceOf(UsageError);
    }
    const badCap = await cli("size", "--cap", "lots");
    expect(badCap.code).toBe(2);
    expect(badCap.stderr).toMatch(/^--cap needs a size such as 50GB or 512MB, got "lots"\nUsage: slaf-workbench cache/);
    const notHf = await cli("evict", "ftp://bucket/x");
    expect(notHf.code).toBe(1);
    expect(notHf.stderr).toMatch(/^INVALID_ARGUMENT: Not a Hugging Face dataset URI/);
    const badBucket = await cli("pin", "s3://Not_A_Bucket/atlas.slaf");
    expect(badBucket.code).toBe(1);
    expect(badBucket.stderr).toMatch(/^INVALID_ARGUMENT: Not an S3 dataset URI \(the bucket name is not valid\)/);
    const localPin = await cli("pin", env.local);
    expect(localPin.stderr).toMatch(/^INVALID_ARGUMENT: Pinning is for remote datasets .*a local folder is read where it is/);
    const unknown = await cli("pin", URI, "--table", "nope");
    expect(unknown.stderr).toMatch(/^TABLE_UNKNOWN: .*"nope"/m);
  });
});

describe("two processes, one cache folder", () => {
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startGateway({ cacheDir, hubEndpoint: env.hub.url, ...QUICK });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it("a CLI pin completes while this process reads the same dataset and evicts everything it may, over and over", async () => {
    const cache = cacheManager(cacheDir);
    await cache.clear();
    await cache.setCap(0);
    const dataset = await gateway.pin(URI);
    const config = await fs.readFile(path.join(env.local, "config.json"));
    const pinRun = start(["pin", URI, "--table", "expression"]);
    let exited = false;
    void pinRun.done.then(() => (exited = true));
    let passes = 0;
    while (!exited) {
      // This process's reads and passes: its cap of 0 removes every block that is neither pinned nor being pinned.
      expect((await getThrough(gateway, "acme/pbmc", dataset.sha, "pbmc.slaf/config.json")).equals(config)).toBe(true);
      await cache.enforceCap();
      passes++;
    }
    const r = await pinRun.done;
    expect(r.stderr).not.toMatch(/^[A-Z_]+: /m);
    expect(r.code).toBe(0);
    expect(passes).toBeGreaterThan(0);
    await cache.enforceCap();
    // Everything the pin needs is still there: pinning again offline reads nothing upstream.
    env.hub.resetLog();
    expect((await cli("pin", URI, "--table", "expression", "--offline")).code).toBe(0);
    expect(env.hub.log).toEqual([]);
    const usage = await cache.usage();
    expect(usage.pins).toEqual([expect.objectContaining<Partial<PinInfo>>({ table: "expression", state: "complete" })]);
    expect(usage.pins[0].presentBytes).toBe(usage.pins[0].bytes);
    expect((await checkCachedBlocks(cacheDir, "acme/pbmc", localSource(env.local))).bad).toEqual([]);
    await cache.setCap(20 * 1024 ** 3);
  });

  it("shares one LRU order: blocks another process read recently outlive older ones this process evicts", async () => {
    const cache = cacheManager(cacheDir);
    await cache.clear();
    await cache.setCap(20 * 1024 ** 3);
    expect((await cli("pin", URI, "--table", "genes")).code).toBe(0);
    expect((await cli("pin", URI, "--table", "expression")).code).toBe(0);
    expect((await cli("unpin", URI)).code).toBe(0);
    // Another process reads genes again (a pin offline reads only the cache): genes is now more recent than expression.
    expect((await cli("pin", URI, "--table", "genes", "--offline")).code).toBe(0);
    expect((await cli("unpin", URI)).code).toBe(0);

    const hfDir = path.join(cacheDir, "hf");
    const inTable = (table: string) => (b: { file: string }) => b.file.includes(`${path.sep}${table}.lance${path.sep}`);
    const before = await blocksUnder(hfDir);
    const expression = before.filter(inTable("expression"));
    const usage = await cache.usage();
    expect(usage.pins).toEqual([]);
    // A cap whose low-water mark is half of expression's blocks below what is there.
    const half = expression.reduce((n, b) => n + b.bytes, 0) / 2;
    const result = await cache.setCap(Math.ceil((usage.totalBytes - half) / LOW_WATER));
    expect(result.evictedBlocks).toBeGreaterThan(0);
    const after = new Set((await blocksUnder(hfDir)).map((b) => b.file));
    const gone = before.filter((b) => !after.has(b.file));
    expect(gone.length).toBe(result.evictedBlocks);
    expect(gone.every(inTable("expression"))).toBe(true);
    expect(before.filter(inTable("genes")).every((b) => after.has(b.file))).toBe(true);
    await cache.setCap(20 * 1024 ** 3);
  });

  it("a pin killed in the middle of a transfer leaves a consistent cache; its running record is ignored, then removed", async () => {
    const cache = cacheManager(cacheDir);
    await cache.clear();
    env.hub.faults.add({ kind: "stall", phase: "body" }, { on: "cdn", times: 1 });
    const run = start(["pin", URI, "--table", "cells"]);
    const pinsDir = path.join(cacheDir, "hf");
    const runningRecords = async (): Promise<string[]> => {
      const out: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
          if (e.isDirectory()) await walk(path.join(dir, e.name));
          else if (e.name.includes(".running-") && !e.name.includes(".tmp-")) out.push(path.join(dir, e.name));
        }
      };
      await walk(pinsDir);
      return out;
    };
    // Wait until the child is inside the stalled answer (the fault is spent) with its running record written.
    while (env.hub.faults.pending() > 0 || (await runningRecords()).length === 0) await new Promise((r) => setImmediate(r));
    run.child.kill("SIGKILL");
    const killed = await run.done;
    expect(killed.code).toBeNull();
    env.hub.faults.clear();

    const records = await runningRecords();
    expect(records.length).toBeGreaterThan(0);
    const check = await checkCachedBlocks(cacheDir, "acme/pbmc", localSource(env.local));
    expect(check.bad).toEqual([]);
    const usage = await cache.usage();
    expect(usage.pins).toEqual([]);
    // A pass removes the dead process's running record, and a new pin completes.
    await cache.enforceCap();
    expect(await runningRecords()).toEqual([]);
    expect((await cli("pin", URI, "--table", "cells")).code).toBe(0);
    expect((await cache.usage()).pins.map((p) => p.table)).toEqual(["cells"]);
    expect((await checkCachedBlocks(cacheDir, "acme/pbmc", localSource(env.local))).bad).toEqual([]);
  });
});
