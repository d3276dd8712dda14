import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import type { ServerResponse } from "node:http";
import path from "node:path";
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

/** Serves the built renderer; unknown paths fall back to index.html. */
export async function serveStatic(root: string, urlPath: string, res: ServerResponse): Promise<void> {
  const clean = path.normalize(decodeURIComponent(urlPath)).replace(/^(\.\.[/\\])+/, "");
  let file = path.join(root, clean);
  if (!file.startsWith(root)) file = path.join(root, "index.html");
  let stat = await fs.stat(file).catch(() => null);
  if (!stat || stat.isDirectory()) {
    file = path.join(root, "index.html");
    stat = await fs.stat(file).catch(() => null);
  }
  if (!stat) {
    res.writeHead(500, { "content-type": "text/plain" }).end(`The renderer is not built: ${root} has no index.html. Run npm run build.`);
    return;
  }
  const ext = path.extname(file);
  res.writeHead(200, {
    "content-type": TYPES[ext] ?? "application/octet-stream",
    "content-length": stat.size,
    "cache-control": ext === ".html" ? "no-store" : "private, max-age=3600",
    "x-content-type-options": "nosniff",
    ...(ext === ".html" ? { "content-security-policy": CONTENT_SECURITY_POLICY, "referrer-policy": "no-referrer" } : {}),
  });
  createReadStream(file).pipe(res);
}
