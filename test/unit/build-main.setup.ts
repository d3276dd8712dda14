import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Bundles main first: the conversion worker and the CLI tests run the real bundles in dist/main. */
export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  execFileSync(process.execPath, [path.join(root, "main", "build.mjs")], { cwd: root, stdio: "inherit" });
}
