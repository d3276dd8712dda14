/**
 * The two remote sources of `bench remote`, each holding the dataset behind the shaping proxy with the notes'
 * profile, with a log of the requests that reach it and the ways to open it: Lance direct or the gateway.
 *
 *   Hub: fake Hub + its CDN (another origin), 40 ms RTT, 400 Mbit/s per connection, 2 Gbit/s link, 302 per resolve.
 *   S3:  radosgw, 10 ms RTT, 800 Mbit/s per connection, 8 Gbit/s link.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { startFakeHub, type FakeHub, type RequestKind } from "../fixtures/fake-hub";
import type { RunnerRequest } from "./remote-protocol";
import { DATASET_NAME, type BenchDataset } from "./remote-dataset";
import { rgwMissing, S3_KINDS, startBenchRgw, startS3RequestLog } from "./remote-s3";
import { Link, startShapingProxy, type ShapingProfile, type ShapingProxy } from "../fixtures/shaping-proxy";

export interface RemoteSource {
  name: string;
  /** The network the readers see. */
  profile: string;
  kinds: string[];
  /** The kinds that carry file bytes (the rest are listings, metadata and redirects). */
  dataKinds: string[];
  /** Kinds of the requests that reached the source so far, in arrival order. */
  log(): readonly string[];
  proxies: ShapingProxy[];
  /** Lance straight to the source, in a process started with `env`. */
  direct: { env: Record<string, string>; open: RunnerRequest };
  gatewayOpen(cacheDir: string): RunnerRequest;
  /** The request kind that spends the Hub's resolver budget (null: no such budget). */
  resolverKind: string | null;
  close(): Promise<void>;
}

const HUB = { rttMs: 40, connMbps: 400, linkMbps: 2000 };
const S3 = { rttMs: 10, connMbps: 800, linkMbps: 8000 };
const REPO = "bench/remote";
const BUCKET = "slafwb-bench";

const profileText = (p: typeof HUB) => `${p.rttMs} ms RTT, ${p.connMbps} Mbit/s per connection, ${p.linkMbps} Mbit/s link`;
const portOf = (url: string) => ({ host: "127.0.0.1", port: Number(new URL(url).port) });

async function shaped(upstreams: (() => string)[], p: typeof HUB): Promise<ShapingProxy[]> {
  const link = new Link(p.linkMbps);
  const profile: ShapingProfile = { rttMs: p.rttMs, connMbps: p.connMbps };
  return Promise.all(upstreams.map((u) => startShapingProxy(() => portOf(u()), profile, link)));
}

export async function startHubSource(data: BenchDataset): Promise<RemoteSource> {
  let hub: FakeHub | null = null;
  const [hubProxy, cdnProxy] = await shaped([() => hub!.url, () => hub!.cdnUrl], HUB);
  try {
    hub = await startFakeHub({ cdnOrigin: cdnProxy.url });
    await fs.cp(data.root, path.join(await hub.createRepo(REPO), DATASET_NAME), { recursive: true });
    const sha = await hub.commit(REPO);
    const uri = `hf://datasets/${REPO}/${DATASET_NAME}`;
    const log = hub.log;
    const kinds: RequestKind[] = ["repo-info", "tree", "paths-info", "resolve", "cdn", "other"];
    return {
      name: "Hub",
      profile: `${profileText(HUB)}, 302 to the CDN per resolve`,
      kinds,
      dataKinds: ["resolve", "cdn"],
      log: () => log.map((r) => r.kind),
      proxies: [hubProxy, cdnProxy],
      direct: {
        env: { HF_ENDPOINT: hubProxy.url },
        open: { cmd: "open", mode: "direct", uri, tables: data.tables, storageOptions: { hf_revision: sha } },
      },
      gatewayOpen: (cacheDir) => ({ cmd: "open", mode: "gateway", uri, cacheDir, hubEndpoint: hubProxy.url, tables: data.tables }),
      resolverKind: "resolve",
      close: async () => {
        await hub?.close();
        await Promise.all([hubProxy.close(), cdnProxy.close()]);
      },
    };
  } catch (e) {
    await hub?.close();
    await Promise.all([hubProxy.close(), cdnProxy.close()]);
    throw e;
  }
}

/** The S3 source, or why it cannot run here. `dir` holds radosgw's state until close. */
export async function startS3Source(data: BenchDataset, dir: string): Promise<RemoteSource | string> {
  const missing = rgwMissing();
  if (missing) return missing;
  const rgw = await startBenchRgw(dir);
  const requests = await startS3RequestLog(rgw.account.endpoint);
  const [proxy] = await shaped([() => requests.url], S3);
  const close = async (): Promise<void> => {
    await proxy.close();
    await requests.close();
    await rgw.close();
  };
  try {
    await rgw.client.createBucket(BUCKET);
    await rgw.client.uploadDir(data.root, BUCKET, DATASET_NAME);
    const uri = `s3://${BUCKET}/${DATASET_NAME}`;
    const { accessKeyId, secretAccessKey, region } = rgw.account;
    const storageOptions = { endpoint: proxy.url, region, allow_http: "true", aws_access_key_id: accessKeyId, aws_secret_access_key: secretAccessKey };
    return {
      name: "S3",
      profile: `radosgw behind ${profileText(S3)}`,
      kinds: S3_KINDS,
      dataKinds: ["get"],
      log: () => requests.log,
      proxies: [proxy],
      direct: { env: { AWS_EC2_METADATA_DISABLED: "true" }, open: { cmd: "open", mode: "direct", uri, tables: data.tables, storageOptions } },
      gatewayOpen: (cacheDir) => ({
        cmd: "open",
        mode: "gateway",
        uri,
        cacheDir,
        hubEndpoint: "http://127.0.0.1:9", // never contacted by an s3:// open, but the sources service needs one
        s3Access: { accessKeyId, secretAccessKey, region, endpoint: proxy.url, pathStyle: true },
        tables: data.tables,
      }),
      resolverKind: null,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
