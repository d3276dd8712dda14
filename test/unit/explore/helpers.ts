/** Explore tests: a PBMC SLAF fixture opened through the real services' dispatcher, and a DuckDB oracle of it. */
import fs from "node:fs/promises";
import path from "node:path";
import type { Services } from "../../../main/services/index";
import type { JobEvent } from "../../../shared/ipc/contract";
import type { Result } from "../../../shared/result";
import { arrow } from "../../../main/services/arrow";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { unwrap } from "../../fixtures/result";
import { Oracle } from "../query/helpers";

export const SESSION = "page1";

export interface ExploreEnv {
  dir: string;
  root: string;
  services: Services;
  datasetId: string;
  oracle: Oracle;
  /** A call through the door (schemas, session ledger), as a page makes it. */
  call<T = unknown>(ns: string, method: string, arg: unknown, session?: string): Promise<Result<T>>;
  /** The same, unwrapped. */
  ok<T = unknown>(ns: string, method: string, arg: unknown, session?: string): Promise<T>;
  waitJob(jobId: string): Promise<JobEvent>;
}

/** One fixture and services per test file (vitest hooks). */
export function useExploreEnvironment(hooks: { beforeAll: (fn: () => Promise<void>) => void; afterAll: (fn: () => Promise<void>) => void }) {
  const env = {} as ExploreEnv;
  hooks.beforeAll(async () => {
    env.dir = await tempDir("slafwb-explore-");
    env.root = path.join(env.dir, "pbmc.slaf");
    await writePbmcSlaf(env.root);
    env.services = testServices(path.join(env.dir, "user-data"));
    env.call = (ns, method, arg, session = SESSION) => env.services.dispatcher.call(ns, method, arg, session) as never;
    env.ok = async (ns, method, arg, session) => unwrap(await env.call(ns, method, arg, session));
    env.waitJob = async (jobId) => {
      for (;;) {
        const e = await env.ok<JobEvent>("jobs", "wait", { jobId, timeoutMs: 60_000 });
        if (e.state !== "running") return e;
      }
    };
    env.datasetId = (await env.ok<{ datasetId: string }>("datasets", "open", { uri: env.root })).datasetId;
    env.oracle = await Oracle.load(env.root);
  });
  hooks.afterAll(async () => {
    env.oracle?.close();
    await env.services?.dispatcher.endSession(SESSION);
    await env.services?.dispose();
    if (env.dir) await fs.rm(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** The columns of an Arrow IPC payload as typed arrays. */
export function ipcColumns(bytes: Uint8Array): Record<string, ArrayLike<number>> {
  const table = arrow.tableFromIPC(bytes);
  return Object.fromEntries(table.schema.fields.map((f) => [f.name, table.getChild(f.name)!.toArray() as ArrayLike<number>]));
}
