import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Files shipped with the app (`main/resources/`). Found by walking up from this module, which
 * works from the TypeScript sources (tests) and from the bundle in dist/.
 */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "main", "resources"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("Cannot find the app's resources folder");
    dir = up;
  }
}

/** The conversion worker bundle; in a packaged app it runs from the unpacked copy beside the asar archive. */
export function convertWorkerPath(): string {
  return path.join(packageRoot(), "dist", "main", "convert-worker.mjs").replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}

/** The dataloader prefetcher's worker bundle, found like the conversion worker. */
export function loaderWorkerPath(): string {
  return path.join(packageRoot(), "dist", "main", "loader-worker.mjs").replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}

export function resourcePath(...parts: string[]): string {
  return path.join(packageRoot(), "main", "resources", ...parts);
}
