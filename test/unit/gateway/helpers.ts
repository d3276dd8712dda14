/** Test environment for the gateway: a PBMC SLAF dataset, a fake Hub serving it, a gateway in front of it. */
import fs from "node:fs/promises";
import path from "node:path";
import { startGateway, type Gateway, type GatewayOptions } from "../../../main/services/gateway";
import { startFakeHub, type FakeHub, type FakeHubOptions } from "../../fixtures/fake-hub";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

export interface HubEnv {
  dir: string;
  /** The local copy of the dataset (the oracle). */
  local: string;
  hub: FakeHub;
  gateway: Gateway;
  cacheDir: string;
  /** Creates `id` on the fake Hub with the dataset at `pbmc.slaf/`, commits it on main; returns the sha. */
  upload(id: string, opts?: { gated?: boolean; private?: boolean }): Promise<string>;
  close(): Promise<void>;
}

/** Fast retries and a short stall timeout, so fault tests stay quick (nothing is timed). */
export const QUICK: Partial<GatewayOptions> = { retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 50 }, idleTimeoutMs: 500 };

export async function hubEnv(opts: { hub?: FakeHubOptions; gateway?: Partial<GatewayOptions>; dataset?: boolean } = {}): Promise<HubEnv> {
  const dir = await tempDir("slafwb-gateway-");
  const local = path.join(dir, "pbmc.slaf");
  if (opts.dataset !== false) await writePbmcSlaf(local, { cellsPerChunk: 50 });
  const hub = await startFakeHub(opts.hub);
  const cacheDir = path.join(dir, "cache");
  const gateway = await startGateway({ cacheDir, hubEndpoint: hub.url, ...QUICK, ...opts.gateway });
  return {
    dir,
    local,
    hub,
    gateway,
    cacheDir,
    async upload(id, o = {}) {
      const repoDir = await hub.createRepo(id, o);
      if (opts.dataset !== false) await fs.cp(local, path.join(repoDir, "pbmc.slaf"), { recursive: true });
      return hub.commit(id);
    },
    async close() {
      await gateway.close();
      await hub.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out;
}

/**
 * Checks every cached block against the source bytes: each must equal the file's bytes at its offset, with its
 * full length. Returns the number of blocks checked and any temp files left behind.
 */
export async function checkCachedBlocks(
  cacheDir: string,
  repo: string,
  sourceOf: (repoPath: string) => Promise<Buffer>,
): Promise<{ blocks: number; temps: string[]; bad: string[] }> {
  const [owner, name] = repo.split("/");
  const files = (await walk(cacheDir)).filter((f) => f.includes(`${path.sep}${owner}${path.sep}${name}${path.sep}`));
  const temps = files.filter((f) => f.includes(".tmp-"));
  const bad: string[] = [];
  let blocks = 0;
  for (const metaFile of files.filter((f) => path.basename(f) === "@file.json")) {
    const meta = JSON.parse(await fs.readFile(metaFile, "utf8")) as { size: number; blockBytes: number };
    const fileDir = path.dirname(metaFile);
    const rel = fileDir.split(`${path.sep}files${path.sep}`)[1].split(path.sep).map(decodeURIComponent).join("/");
    const source = await sourceOf(rel);
    if (source.length !== meta.size) bad.push(`${rel}: size ${meta.size}, source ${source.length}`);
    for (const name of await fs.readdir(fileDir)) {
      const m = /^@(\d+)\.blk$/.exec(name);
      if (!m) continue;
      blocks++;
      const start = Number(m[1]);
      const bytes = await fs.readFile(path.join(fileDir, name));
      const expected = source.subarray(start, Math.min(source.length, start + meta.blockBytes));
      if (!bytes.equals(expected)) bad.push(`${rel} block at ${start}: ${bytes.length} bytes differ from the source`);
    }
  }
  return { blocks, temps, bad };
}

/** The source bytes of a repo path `pbmc.slaf/...` from the local copy. */
export function localSource(local: string): (repoPath: string) => Promise<Buffer> {
  return (repoPath) => fs.readFile(path.join(path.dirname(local), ...repoPath.split("/")));
}

/** Raw HTTP GET/POST to the gateway (or anywhere), returning status, headers and body bytes. */
export async function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { method: init.method ?? "GET", headers: init.headers, body: init.body, redirect: "manual" });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
