import { protocol } from "electron";
import fs from "node:fs/promises";
import { resolveRendererFile } from "../server/static-files";

export const APP_SCHEME = "slafwb";
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** Must run before `app.ready`. */
export function registerScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

/** Serves the built renderer from `slafwb://app/`, exactly as browser mode serves it (same files, same CSP). */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const found = await resolveRendererFile(rendererDir, new URL(request.url).pathname);
    if (!found) return new Response("Not found", { status: 404 });
    return new Response(await fs.readFile(found.file), { headers: { "content-type": found.contentType, ...found.headers } });
  });
}
