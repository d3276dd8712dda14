// Bundles the benchmarks into dist-bench/ (never into dist/, which the desktop package ships): they import
// dev-only packages (nodejs-polars) and test fixtures.
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
await build({
  absWorkingDir: root,
  entryPoints: { bench: "test/bench/index.ts", "remote-runner": "test/bench/remote-runner.ts" },
  outdir: "dist-bench",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  outExtension: { ".js": ".mjs" },
  packages: "external",
  sourcemap: "linked",
  logLevel: "warning",
});
