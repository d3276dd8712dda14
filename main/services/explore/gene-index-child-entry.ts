/**
 * The gene index build process (bundled as dist/main/gene-index-child.mjs, started by gene-index-child.ts with
 * child_process.fork). Lance builds a bitmap index in memory (~12 B per expression row): here, if memory runs
 * out, the OOM killer takes this process and not the app with the user's notebook.
 *
 * It says it is ready, waits for one start message, clones and indexes into the build folder it names, reports
 * done (or a named error) and exits. Cancel is SIGTERM, which ends it where it is (the app removes the build folder); it also
 * exits when the app goes away (its IPC channel closes), so no build outlives the app.
 */
import { isAppFailure, type AppError } from "../../../shared/result";
import { toAppError } from "../errors";
import { buildCloneWithIndex } from "./gene-index-build";
import { parseChildStart, type ChildMessage } from "./gene-index-child-protocol";
import { folderBytes } from "./gene-index-store";

const send = process.send?.bind(process);
if (!send) throw new Error("gene-index-child must be started with child_process.fork");
const pid = process.pid;

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
    await post({ t: "progress", pid, phase: "clone" });
    await buildCloneWithIndex(
      start.tmpDir,
      start.srcUri,
      start.version,
      start.kind,
      new AbortController().signal,
      () => void post({ t: "progress", pid, phase: "index" }).catch(() => undefined),
    );
    const bytes = await folderBytes(start.tmpDir);
    return finish({ t: "done", pid, bytes, ms: performance.now() - t0, maxRssBytes: process.resourceUsage().maxRSS * 1024 }, 0);
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
