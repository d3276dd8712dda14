import { protocol } from "electron";
import fs from "node:fs/promises";
import path from "node:path";
import { CONTENT_SECURITY_POLICY } from "../../shared/csp";

export const APP_SCHEME = "slafwb";
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** Must run before `app.ready`. */
export function registerScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".ttf": "font/ttf", ".wasm": "application/wasm" };

/** Serves the built renderer from `slafwb://app/`, with the CSP header; paths cannot leave the folder. */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const file = path.join(rendererDir, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ""));
    const target = file.startsWith(rendererDir) && (await fs.stat(file).catch(() => null))?.isFile() ? file : path.join(rendererDir, "index.html");
    const body = await fs.readFile(target);
    return new Response(body, {
      headers: { "content-type": TYPES[path.extname(target)] ?? "application/octet-stream", "content-security-policy": CONTENT_SECURITY_POLICY },
    });
  });
}
