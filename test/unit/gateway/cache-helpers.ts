/** Helpers for the cache tests: blobs on the fake Hub read through the gateway, and the blocks on disk. */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import type { Gateway } from "../../../main/services/gateway";
import type { HubEnv } from "./helpers";

/** Uploads random blobs (repo path → size) as a commit of `id`; returns the sha and the bytes. */
export async function uploadBlobs(env: HubEnv, id: string, sizes: Record<string, number>): Promise<{ sha: string; bytes: Map<string, Buffer> }> {
  const dir = await env.hub.createRepo(id);
  const bytes = new Map<string, Buffer>();
  for (const [repoPath, size] of Object.entries(sizes)) {
    const data = randomBytes(size);
    bytes.set(repoPath, data);
    await fs.mkdir(path.dirname(path.join(dir, repoPath)), { recursive: true });
    await fs.writeFile(path.join(dir, repoPath), data);
  }
  return { sha: await env.hub.commit(id), bytes };
}

export function resolveUrl(gateway: Gateway, repo: string, sha: string, repoPath: string): string {
  return `${gateway.hfEndpoint}/datasets/${repo}/resolve/${sha}/${repoPath}`;
}

/** GETs a whole file (or a range) through the gateway. */
export async function getThrough(gateway: Gateway, repo: string, sha: string, repoPath: string, range?: string): Promise<Buffer> {
  const res = await fetch(resolveUrl(gateway, repo, sha, repoPath), { headers: range ? { range } : {} });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 && res.status !== 206) throw new Error(`GET ${repoPath}: ${res.status} ${res.headers.get("x-error-message") ?? body.toString()}`);
  return body;
}

/** Every block file under a folder (recursively), with its mtime. */
export async function blocksUnder(dir: string): Promise<{ file: string; mtimeMs: number; bytes: number }[]> {
  const out: { file: string; mtimeMs: number; bytes: number }[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await blocksUnder(full)));
    else if (/^@\d+\.blk$/.test(entry.name)) {
      const s = await fs.stat(full).catch(() => null);
      if (s) out.push({ file: full, mtimeMs: s.mtimeMs, bytes: s.size });
    }
  }
  return out;
}

/** A streamed GET whose body is read on demand (so the test can act between chunks), on a plain http request. */
export function openStream(url: string): Promise<{ status: number; next(): Promise<Buffer | null>; rest(): Promise<Buffer>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.pause();
      const iterator = res[Symbol.asyncIterator]();
      resolve({
        status: res.statusCode ?? 0,
        async next() {
          const n = await iterator.next();
          return n.done ? null : (n.value as Buffer);
        },
        async rest() {
          const parts: Buffer[] = [];
          for (;;) {
            const n = await iterator.next();
            if (n.done) return Buffer.concat(parts);
            parts.push(n.value as Buffer);
          }
        },
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
  });
}
