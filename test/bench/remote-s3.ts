/**
 * The S3 side of `bench remote`: a throwaway Ceph radosgw (test/fixtures/s3/start-rgw.sh, objects in memory)
 * holding the dataset, and an HTTP request log in front of it that counts what reaches the store by kind
 * (list, get, head), since radosgw has no such counter. Readers reach it through the shaping proxy:
 * reader → shaping proxy → request log → radosgw. Headers pass unchanged (SigV4 signs the Host the reader used).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { PROJECT_ROOT } from "../fixtures/pbmc";
import { S3TestClient, type S3Account } from "../fixtures/s3/s3-client";

export type S3RequestKind = "list" | "get" | "head" | "other";
export const S3_KINDS: S3RequestKind[] = ["list", "get", "head", "other"];

export interface BenchRgw {
  account: S3Account;
  client: S3TestClient;
  close(): Promise<void>;
}

const SCRIPT = path.join(PROJECT_ROOT, "test", "fixtures", "s3", "start-rgw.sh");
const ACCESS_KEY = "slafwbbenchaccess";
const SECRET_KEY = "slafwbbenchsecret";

/** Why S3 cannot be measured here, or null when radosgw is installed. */
export function rgwMissing(): string | null {
  const missing = ["radosgw", "ceph-mon", "ceph-osd", "monmaptool", "radosgw-admin"].filter((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0);
  return missing.length ? `${missing.join(", ")} not installed (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)` : null;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stops the daemons start-rgw.sh left running in `dir` (by the pids they wrote: they are not our children). */
async function stopRgw(dir: string): Promise<void> {
  const pids: number[] = [];
  for (const name of ["client.rgw.a.pid", "osd.0.pid", "mon.a.pid"]) {
    const text = await fs.readFile(path.join(dir, "run", name), "utf8").catch(() => "");
    if (/^\d+\s*$/.test(text)) pids.push(Number(text));
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(100);
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
}

async function logTails(dir: string): Promise<string> {
  const logs = path.join(dir, "log");
  const names = await fs.readdir(logs).catch(() => [] as string[]);
  const tails = await Promise.all(names.map(async (n) => `${n}: ${(await fs.readFile(path.join(logs, n), "utf8").catch(() => "")).slice(-600)}`));
  return tails.join("\n");
}

async function startOnce(dir: string): Promise<BenchRgw> {
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const child = spawn("bash", [SCRIPT, dir, String(monPort), String(rgwPort)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY },
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  const close = async (): Promise<void> => {
    await stopRgw(dir);
    await fs.rm(dir, { recursive: true, force: true });
  };
  if (code !== 0) {
    const why = `start-rgw.sh failed (exit ${code}): ${output.slice(-1000)}\n${await logTails(dir)}`;
    await close();
    throw new Error(why);
  }
  const account: S3Account = { endpoint: `http://127.0.0.1:${rgwPort}`, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: "us-east-1" };
  return { account, client: new S3TestClient(account), close };
}

/**
 * Starts radosgw with its state under `dir` (removed by close). A start can fail on a busy machine (a Ceph
 * command timing out, a port taken between choosing and binding it): it is tried three times.
 */
export async function startBenchRgw(dir: string): Promise<BenchRgw> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(dir);
    } catch (e) {
      if (attempt === 3) throw e;
      console.log(`radosgw did not start (attempt ${attempt}), trying again: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
    }
  }
}

function kindOf(method: string, url: string): S3RequestKind {
  if (method === "HEAD") return "head";
  if (method !== "GET") return "other";
  return /[?&]list-type=2(&|$)/.test(url) ? "list" : "get";
}

export interface S3RequestLog {
  url: string;
  /** Kinds of the requests forwarded, in arrival order. */
  log: S3RequestKind[];
  close(): Promise<void>;
}

/** An HTTP proxy to `upstream` that records each request's kind and forwards it untouched. */
export async function startS3RequestLog(upstream: string): Promise<S3RequestLog> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const log: S3RequestKind[] = [];
  const server = http.createServer((req, res) => {
    log.push(kindOf(req.method ?? "GET", req.url ?? "/"));
    const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    log,
    async close() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
