/** The parent side of the runner processes: fork one, send it a command, await its answer. */
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { RunnerReply, RunnerRequest, RunnerResult } from "./remote-protocol";

/** Bundled next to the benchmark bundle by test/bench/build.mjs. */
const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), "remote-runner.mjs");

export class Runner {
  private constructor(private readonly child: ChildProcess) {}

  /** A fresh process; `env` adds to a copy of this one's environment without any Hub endpoint or token. */
  static start(env: Record<string, string>): Runner {
    if (!fs.existsSync(RUNNER)) throw new Error(`${RUNNER} is missing: run the benchmark with \`npm run bench remote\``);
    const base = { ...process.env };
    for (const k of ["HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN"]) delete base[k];
    // e.g. SLAFWB_BENCH_RUNNER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile each runner.
    const nodeArgs = (process.env.SLAFWB_BENCH_RUNNER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
    const child = fork(RUNNER, [], {
      execArgv: [...process.execArgv, ...nodeArgs],
      env: { ...base, HF_HUB_DISABLE_IMPLICIT_TOKEN: "1", HF_HUB_DISABLE_XET: "1", ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    return new Runner(child);
  }

  send(req: RunnerRequest): Promise<RunnerResult> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`runner exited (${code}) during ${req.cmd}`));
      this.child.once("exit", onExit);
      this.child.once("message", (reply: RunnerReply) => {
        this.child.off("exit", onExit);
        if (reply.ok) resolve(reply.value);
        else reject(new Error(`runner ${req.cmd}: ${reply.error}`));
      });
      this.child.send(req);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ cmd: "exit" } satisfies RunnerRequest);
    await exited;
  }
}
