/**
 * The gene index build process (bundled as dist/main/gene-index-child.mjs, started by gene-index-child.ts with
 * child_process.fork), so the build's reads, memory and writes never run in the app's process, at low priority
 * so the app (and a gene read from the source meanwhile) goes first.
 *
 * It says it is ready, waits for one start message, builds into the build folder it names (gene-index-build.ts),
 * reports done (or a named error) and exits. Cancel is SIGTERM, which ends it where it is (the app removes the
 * build folder); it also exits when the app goes away (its IPC channel closes), so no build outlives the app.
 */
import os from "node:os";
import { isAppFailure, type AppError } from "../../../shared/result";
import { toAppError } from "../errors";
import { buildGeneIndex } from "./gene-index-build";
import { parseChildStart, type ChildMessage } from "./gene-index-child-protocol";
import { folderBytes } from "./gene-index-store";

const send = process.send?.bind(process);
if (!send) throw new Error("gene-index-child must be started with child_process.fork");
const pid = process.pid;
try {
  // Before Lance starts its threads, which inherit it.
  os.setPriority(os.constants.priority.PRIORITY_LOW);
} catch {
  // Not allowed here: the build runs at normal priority.
}

process.on("disconnect", () => process.exit(2));

function post(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => send!(m, undefined, {}, () => resolve()));
}

async function finish(m: ChildMessage, code: number): Promise<never> {
  await post(m).catch(() => undefined);
  process.exit(code);
}

function errorMessage(e: unknown): ChildMessage {
  const { code, message, path }: AppError = isAppFailure(e) ? e.appError : toAppError(e);
  return { t: "error", pid, code, message, ...(path === undefined ? {} : { path }) };
}

async function run(m: unknown): Promise<never> {
  const start = parseChildStart(m);
  if (!start) return finish({ t: "error", pid, code: "INTERNAL", message: "The gene index build process was sent a malformed start message" }, 1);
  const t0 = performance.now();
  try {
    await post({ t: "progress", pid, phase: "count", rows: 0 });
    const { rows, writes } = await buildGeneIndex(start, (phase, n) => void post({ t: "progress", pid, phase, rows: n }).catch(() => undefined));
    const bytes = await folderBytes(start.tmpDir);
    return finish({ t: "done", pid, bytes, ms: performance.now() - t0, maxRssBytes: process.resourceUsage().maxRSS * 1024, rows, writes }, 0);
  } catch (e) {
    return finish(errorMessage(e), 1);
  }
}

let started = false;
process.on("message", (m: unknown) => {
  if (started) return void finish({ t: "error", pid, code: "INTERNAL", message: "The gene index build process was sent a second message" }, 1);
  started = true;
  void run(m);
});
// Only now: a start sent before this process listened (its imports load first) would be lost.
void post({ t: "ready", pid }).catch(() => undefined);
