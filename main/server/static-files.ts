import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import type { ServerResponse } from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { CONTENT_SECURITY_POLICY } from "../../shared/csp";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ttf": "font/ttf",
  ".woff2": "font/woff2",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

export interface RendererFile {
  file: string;
  size: number;
  contentType: string;
  headers: Record<string, string>;
}

/**
 * The built renderer file for a URL path (unknown paths fall back to index.html, so the app can route), with
 * its headers; the CSP goes on the page. Used by both the browser-mode server and Electron's app:// protocol.
 * Null when the path is malformed or the renderer is not built.
 */
export async function resolveRendererFile(root: string, urlPath: string): Promise<RendererFile | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  let file = path.join(root, path.normalize(`/${decoded}`));
  if (!file.startsWith(root)) file = path.join(root, "index.html");
  let stat = await fs.stat(file).catch(() => null);
  if (!stat || !stat.isFile()) {
    file = path.join(root, "index.html");
    stat = await fs.stat(file).catch(() => null);
  }
  if (!stat) return null;
  const ext = path.extname(file);
  const page = ext === ".html";
  return {
    file,
    size: stat.size,
    contentType: TYPES[ext] ?? "application/octet-stream",
    headers: {
      "cache-control": page ? "no-store" : "private, max-age=3600",
      "x-content-type-options": "nosniff",
      ...(page ? { "content-security-policy": CONTENT_SECURITY_POLICY, "referrer-policy": "no-referrer" } : {}),
    },
  };
}

export async function serveStatic(root: string, urlPath: string, res: ServerResponse): Promise<void> {
  const found = await resolveRendererFile(root, urlPath);
  if (!found) {
    res.writeHead(404, { "content-type": "text/plain" }).end(`Not found. If the app is not built, run npm run build (looked in ${root}).`);
    return;
  }
  res.writeHead(200, { "content-type": found.contentType, "content-length": found.size, ...found.headers });
  // A file removed mid-read (a rebuild) ends this response, never the server.
  await pipeline(createReadStream(found.file), res).catch(() => res.destroy());
}
