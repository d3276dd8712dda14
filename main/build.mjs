// Bundles the Node side: the CLI (browser mode, convert, query...), the Electron main and its preload. What ships
// is only this; benchmarks (which use dev-only packages such as nodejs-polars) are built apart by test/bench/build.mjs.
import { build } from "esbuild";
import { readFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  packages: "external",
  define: { __APP_VERSION__: JSON.stringify(version) },
  logLevel: "warning",
};
mkdirSync(path.join(root, "dist"), { recursive: true });
await Promise.all([
  build({
    ...common,
    entryPoints: {
      "main/cli": "main/cli.ts",
      "main/convert-worker": "main/services/convert/worker-entry.ts",
      "main/loader-worker": "main/services/loader/prefetch/worker-entry.ts",
      "main/query-scan-worker": "main/services/query/scan-worker-entry.ts",
      "main/markers-pass-worker": "main/services/markers/pass-worker-entry.ts",
      "main/gene-index-child": "main/services/explore/gene-index-child-entry.ts",
    },
    outdir: "dist",
    format: "esm",
    outExtension: { ".js": ".mjs" },
    banner: { js: "#!/usr/bin/env node" },
  }),
  build({ ...common, entryPoints: { "electron/main": "main/index.ts" }, outdir: "dist", format: "esm", outExtension: { ".js": ".mjs" } }),
  build({ ...common, entryPoints: { "preload/index": "preload/index.ts" }, outdir: "dist", format: "cjs", outExtension: { ".js": ".cjs" } }),
]);
