// `npm start`: the desktop app when Electron's binary is installed, else browser mode (same app, same services).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Without a dataset argument, start on the bundled demo.
const given = process.argv.slice(2);
const args = given.some((a) => !a.startsWith("-")) ? given : [...given, "--demo"];
const electronDir = path.join(root, "node_modules", "electron");
const pathFile = path.join(electronDir, "path.txt");
// Do not `require("electron")` to find out: without its binary that starts a download.
const binary = existsSync(pathFile) ? path.join(electronDir, "dist", readFileSync(pathFile, "utf8").trim()) : null;

if (binary && existsSync(binary)) {
  const child = spawn(binary, [path.join(root, "dist", "electron", "main.mjs"), ...args], { stdio: "inherit" });
  child.on("exit", (code) => process.exit(code ?? 0));
} else {
  console.log("Electron's binary is not installed here (node_modules/electron/dist is missing), so SLAF Workbench runs in browser mode: open the URL below.");
  const child = spawn(process.execPath, [path.join(root, "dist", "main", "cli.mjs"), "serve", ...args], { stdio: "inherit" });
  child.on("exit", (code) => process.exit(code ?? 0));
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
}
