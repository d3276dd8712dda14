/**
 * Runs a gene index build (into a build folder) in its own process, gene-index-child-entry.ts, so the build can
 * never take the app down: the child dying (OOM killer, SIGKILL, a crash) fails the build with a named error and
 * nothing else. Cancel is SIGTERM, then waiting for the exit, so the
 * caller removes the build folder only once nothing writes into it.
 */
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { AppFailure } from "../../../shared/result";
import { fail, throwIfAborted } from "../errors";
import { packageRoot } from "../resources";
import { parseChildMessage, type ChildMessage, type ChildStart } from "./gene-index-child-protocol";
import type { BuildPause } from "./gene-index-pause";

export interface ChildBuild {
  /** The build process's pid, as it reported it. */
  pid: number;
  /** The build folder's bytes. */
  bytes: number;
  ms: number;
  /** The build process's peak resident memory. */
  maxRssBytes: number;
  rows: number;
  /** Positioned writes of the scatter pass. */
  writes: number;
}

/** A child that ignores SIGTERM this long is killed. */
const KILL_AFTER_MS = 10_000;

/** The bundled build process; in a packaged app it runs from the unpacked copy beside the asar archive. */
export function geneIndexChildPath(): string {
  return path.join(packageRoot(), "dist", "main", "gene-index-child.mjs").replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}

const malformed = () => new AppFailure("INTERNAL", "The gene index build process sent a malformed message");

/**
 * Builds in a child started from `file`; `onMessage` sees each of its (checked) messages; `pause` holds it while
 * the app reads. Settles once it has exited.
 */
export function buildInChild(
  file: string,
  start: Omit<ChildStart, "t">,
  signal: AbortSignal,
  onMessage?: (m: ChildMessage) => void,
  pause?: BuildPause,
): Promise<ChildBuild> {
  throwIfAborted(signal, "EXPLORE_CANCELLED");
  if (!existsSync(file)) fail("INTERNAL", `The gene index build process is missing at ${file}; build the app (npm run build:main)`);
  return new Promise((resolve, reject) => {
    // In Electron, execPath is Electron itself: ELECTRON_RUN_AS_NODE makes it a plain Node.
    const child = fork(file, [], {
      execPath: process.execPath,
      execArgv: [],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    if (child.pid !== undefined) pause?.attach(child.pid);
    let startSent = false;
    let built: ChildBuild | null = null;
    let failure: unknown = null;
    let killTimer: NodeJS.Timeout | null = null;
    let settled = false;

    const running = () => child.exitCode === null && child.signalCode === null;
    const stop = (reason: unknown) => {
      failure ??= reason;
      if (!running() || killTimer) return;
      child.kill("SIGTERM");
      pause?.release();
      killTimer = setTimeout(() => running() && child.kill("SIGKILL"), KILL_AFTER_MS);
      killTimer.unref();
    };
    const onAbort = () => stop(signal.reason ?? new AppFailure("EXPLORE_CANCELLED", "Cancelled by the user"));
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      pause?.detach();
      signal.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
      fn();
    };

    signal.addEventListener("abort", onAbort, { once: true });
    child.on("message", (raw: unknown) => {
      if (failure) return;
      const m = parseChildMessage(raw);
      if (!m || m.pid !== child.pid || built || (m.t === "ready") === startSent) return stop(malformed());
      onMessage?.(m);
      if (m.t === "ready") {
        startSent = true;
        child.send(
          { t: "start", ...start } satisfies ChildStart,
          (e) => e && stop(new AppFailure("INTERNAL", `Cannot start the gene index build: ${e.message}`)),
        );
      } else if (m.t === "done") built = { pid: m.pid, bytes: m.bytes, ms: m.ms, maxRssBytes: m.maxRssBytes, rows: m.rows, writes: m.writes };
      else if (m.t === "error") failure ??= new AppFailure(m.code, m.message, m.path === undefined ? {} : { path: m.path });
    });
    child.on("error", (e) => {
      // Not started at all (no exit event follows), or a signal or message that could not be delivered.
      if (child.pid === undefined) settle(() => reject(new AppFailure("INTERNAL", `Cannot start the gene index build process: ${e.message}`)));
      else stop(new AppFailure("INTERNAL", `The gene index build process failed: ${e.message}`));
    });
    child.on("exit", (code, sig) =>
      settle(() => {
        if (failure) reject(failure);
        else if (sig) reject(new AppFailure("INTERNAL", `The gene index build ran out of memory or was killed (signal ${sig})`));
        else if (code !== 0) reject(new AppFailure("INTERNAL", `The gene index build process stopped unexpectedly (exit code ${code})`));
        else if (!built) reject(new AppFailure("INTERNAL", "The gene index build process exited without finishing"));
        else resolve(built);
      }),
    );
    if (signal.aborted) onAbort();
  });
}
