/**
 * The SLAF announcement's experiment on loopback (issue 11, "Record"): 20,000 batches of 256 rows of the cells
 * table, streamed from a local folder, an S3 store and the Hub, through `slaf-workbench bench` (the app's own
 * path: gateway, cache, counters) in a child process. The sources sit behind the shaping proxy with the notes'
 * profiles (../shared/notes/object-stores.md): "S3 same region" = radosgw behind 10 ms RTT, 800 Mbit/s per
 * connection, 8 Gbit/s link; "HF Hub" = the fake Hub and its CDN (a 302 per resolve) behind 40 ms RTT, 400 Mbit/s
 * per connection, 2 Gbit/s link. Cold (cache bypassed) runs first, then warm ones after a pass that fills the cache.
 *
 * The dataset: a cells table of 5,120,000 rows (the PBMC 3k cells' obs columns repeated, ids made unique), so the
 * 20,000 batches are all distinct rows, as in the announcement; its genes and expression tables are the 160-cell
 * PBMC ones (only cells is read). Built once under the system temp folder.
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as lancedb from "@lancedb/lancedb";
import { arrow } from "../../main/services/arrow";
import { fileSecretStore } from "../../main/services/secrets/store";
import { saveSettings } from "../../main/services/settings";
import { startFakeHub, type FakeHub } from "../fixtures/fake-hub";
import { PROJECT_ROOT } from "../fixtures/pbmc";
import { Link, startShapingProxy, type ShapingProxy } from "../fixtures/shaping-proxy";
import { writePbmcSlaf } from "../fixtures/slaf-fixture";
import { rgwMissing, startBenchRgw, startS3RequestLog } from "./remote-s3";
import { table } from "./util";

const BATCHES = 20_000;
const BATCH_ROWS = 256;
const REPEATS = 5;
const REPEATS_OF_PBMC = (BATCHES * BATCH_ROWS) / 160;
const CACHE = path.join(os.tmpdir(), "slafwb-bench-sources-v1");
const NAME = "atlas-5m.slaf";
const CLI = path.join(PROJECT_ROOT, "dist", "main", "cli.mjs");

const S3_PROFILE = { rttMs: 10, connMbps: 800, linkMbps: 8000 };
const HUB_PROFILE = { rttMs: 40, connMbps: 400, linkMbps: 2000 };
/** SLAF's Hugging Face post, MiB/s (Modal worker; 5.12M records of Tahoe-100M's cells table). */
const ANNOUNCED: Record<string, string> = { local: "189.72 (Modal volume)", s3: "62.06 (Tigris S3)", hf: "44.84 (Hub via Lance)" };

async function ensureDataset(): Promise<string> {
  const root = path.join(CACHE, NAME);
  if (await fs.stat(path.join(root, "config.json")).catch(() => null)) return root;
  console.log(`Building ${root} (once): ${(BATCHES * BATCH_ROWS).toLocaleString("en-US")} cells ...`);
  const temp = path.join(CACHE, `building-${process.pid}.slaf`);
  await fs.rm(temp, { recursive: true, force: true });
  await fs.mkdir(CACHE, { recursive: true });
  try {
    await writePbmcSlaf(temp);
    const db = await lancedb.connect(temp);
    const small = await (await db.openTable("cells")).query().toArrow();
    const rows = small.toArray().map((r) => r.toJSON() as Record<string, unknown>);
    const fields = small.schema.fields;
    const chunks: InstanceType<typeof arrow.Table>[] = [];
    const per = 1000;
    for (let k0 = 0; k0 < REPEATS_OF_PBMC; k0 += per) {
      const n = Math.min(per, REPEATS_OF_PBMC - k0) * rows.length;
      const columns: Record<string, unknown> = {};
      for (const f of fields) {
        const values = Array.from({ length: n }, (_, i) => {
          const copy = k0 + Math.floor(i / rows.length);
          const v = rows[i % rows.length][f.name];
          if (f.name === "cell_integer_id") return BigInt(copy * rows.length + (i % rows.length));
          if (f.name === "cell_id") return `${String(v)}-r${copy}`;
          return v !== null && typeof v === "object" && Symbol.iterator in v ? Array.from(v as Iterable<number>) : v;
        });
        columns[f.name] = arrow.vectorFromArray(values as never, f.type as never);
      }
      chunks.push(new arrow.Table(columns as never));
    }
    const cells = chunks[0].concat(...chunks.slice(1));
    await db.dropTable("cells");
    await db.createTable("cells", cells as never);
    db.close();
    const configFile = path.join(temp, "config.json");
    const config = JSON.parse(await fs.readFile(configFile, "utf8")) as { n_cells: number; array_shape: number[] };
    config.n_cells = BATCHES * BATCH_ROWS;
    config.array_shape[0] = config.n_cells;
    await fs.writeFile(configFile, JSON.stringify(config, null, 2));
    await fs.rename(temp, root);
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
  return root;
}

const portOf = (url: string) => ({ host: "127.0.0.1", port: Number(new URL(url).port) });
const profileText = (p: typeof HUB_PROFILE) => `${p.rttMs} ms RTT, ${p.connMbps} Mbit/s per connection, ${p.linkMbps} Mbit/s link`;

async function shaped(targets: (() => string)[], p: typeof HUB_PROFILE): Promise<ShapingProxy[]> {
  const link = new Link(p.linkMbps);
  return Promise.all(targets.map((t) => startShapingProxy(() => portOf(t()), { rttMs: p.rttMs, connMbps: p.connMbps }, link)));
}

interface JsonRun {
  uri: string;
  source: string;
  rows: number;
  bytes: number;
  mib_per_s: number;
  rows_per_s: number;
  ttfb_ms: number;
  batch_ms_p50: number;
  batch_ms_p95: number;
  upstream_requests: number;
  upstream_bytes: number;
  cache_hits: number;
  spread: number;
  error?: { code: string; message: string };
}

async function cli(args: string[], env: Record<string, string>): Promise<JsonRun[]> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, "bench", ...args, "--format", "json", "--no-save"], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? "", stderr: e.stderr ?? String(e) }));
  if (stderr) console.log(stderr.trim());
  return (JSON.parse(stdout) as { runs: JsonRun[] }).runs;
}

function report(title: string, runs: JsonRun[], profiles: Record<string, string>): void {
  console.log(`\n${title}`);
  table(
    ["source", "network", "MiB/s", "rows/s", "first batch ms", "batch ms p50/p95", "upstream req", "upstream MiB", "cache hits", "spread", "announced MiB/s"],
    runs.map((r) =>
      r.error
        ? [r.source, profiles[r.source], `${r.error.code}: ${r.error.message}`, "", "", "", "", "", "", "", ""]
        : [
            r.source,
            profiles[r.source],
            r.mib_per_s,
            Math.round(r.rows_per_s),
            r.ttfb_ms,
            `${r.batch_ms_p50.toFixed(2)} / ${r.batch_ms_p95.toFixed(2)}`,
            r.upstream_requests,
            r.upstream_bytes / 2 ** 20,
            r.cache_hits,
            `${(r.spread * 100).toFixed(1)} %`,
            ANNOUNCED[r.source],
          ],
    ),
  );
}

export async function run(): Promise<void> {
  const root = await ensureDataset();
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-bench-sources-"));
  const closers: (() => Promise<void>)[] = [];
  try {
    const uris = [root];
    const env: Record<string, string> = { SLAFWB_USER_DATA: path.join(work, "user"), AWS_EC2_METADATA_DISABLED: "true" };
    const profiles: Record<string, string> = { local: "local disk" };

    let hub: FakeHub | null = null;
    const [hubProxy, cdnProxy] = await shaped([() => hub!.url, () => hub!.cdnUrl], HUB_PROFILE);
    closers.push(
      () => hubProxy.close(),
      () => cdnProxy.close(),
    );
    hub = await startFakeHub({ cdnOrigin: cdnProxy.url });
    closers.push(() => hub!.close());
    await fs.cp(root, path.join(await hub.createRepo("bench/atlas"), NAME), { recursive: true });
    const sha = await hub.commit("bench/atlas");
    env.HF_ENDPOINT = hubProxy.url;
    profiles.hf = `"HF Hub": ${profileText(HUB_PROFILE)}, 302 to the CDN per resolve`;

    const missing = rgwMissing();
    if (missing) console.log(`S3: not measured, ${missing}`);
    else {
      const rgw = await startBenchRgw(path.join(work, "rgw"));
      closers.push(() => rgw.close());
      const requests = await startS3RequestLog(rgw.account.endpoint);
      closers.push(() => requests.close());
      const [s3Proxy] = await shaped([() => requests.url], S3_PROFILE);
      closers.push(() => s3Proxy.close());
      await rgw.client.createBucket("slafwb-sources");
      await rgw.client.uploadDir(root, "slafwb-sources", NAME);
      const { accessKeyId, secretAccessKey, region } = rgw.account;
      await saveSettings(env.SLAFWB_USER_DATA, { s3: { accessKeyId, region, endpoint: s3Proxy.url, pathStyle: true } });
      await fileSecretStore(env.SLAFWB_USER_DATA).set("s3SecretAccessKey", secretAccessKey);
      uris.push(`s3://slafwb-sources/${NAME}`);
      profiles.s3 = `"S3 same region": radosgw, ${profileText(S3_PROFILE)}`;
    }
    uris.push(`hf://datasets/bench/atlas/${NAME}@${sha}`);

    const shape = ["--table", "cells", "--batches", String(BATCHES), "--batch-size", String(BATCH_ROWS), "--repeat", String(REPEATS)];
    console.log(`${BATCHES.toLocaleString("en-US")} batches of ${BATCH_ROWS} rows of the cells table per source, plain scan, 1 reader, median of ${REPEATS}`);
    report("Cold (the gateway's cache bypassed; a local folder as it is)", await cli([...uris, ...shape, "--cold"], env), profiles);
    await cli([...uris, "--table", "cells", "--batches", String(BATCHES), "--batch-size", String(BATCH_ROWS)], env);
    report("Warm (after a pass that filled the cache)", await cli([...uris, ...shape], env), profiles);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await fs.rm(work, { recursive: true, force: true });
  }
}
