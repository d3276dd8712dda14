/**
 * The gene index build runs in its own process (the built dist/main/gene-index-child.mjs): it reports its own pid,
 * cancel kills it and leaves no build folder, a build killed by SIGKILL (as the OOM killer would) fails with a
 * named error while gene reads go on and a later build succeeds, and a malformed message either way is a named
 * error, never trusted.
 */
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { geneIndexChildPath } from "../../../main/services/explore/gene-index-child";
import type { ChildMessage } from "../../../main/services/explore/gene-index-child-protocol";
import { VALUES_FILE } from "../../../main/services/explore/gene-index-files";
import { readGene } from "../../../main/services/explore/gene-values";
import { loadPbmc } from "../../fixtures/pbmc";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { snapshotTree } from "../../fixtures/tree-snapshot";
import { indexEnv, indexFolders, type IndexEnv } from "./gene-index-helpers";

let dir: string;
let root: string;
/** A table of several scan batches, so that a build is still reading when the test acts on it. */
let synth: string;

beforeAll(async () => {
  dir = await tempDir("slafwb-gene-index-child-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  synth = path.join(dir, "synth.slaf");
  await writePbmcSlaf(synth, { nCells: 1200 });
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process's state letter (R, S, T stopped, Z zombie…). */
function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, { encoding: "utf8", flag: "r" });
  return stat.slice(stat.lastIndexOf(")") + 2)[0];
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  return alive(pid) && stateOf(pid) !== "Z";
}

/** The build that opening the dataset in Explore starts; resolves with its job's end. */
async function buildJob(env: IndexEnv) {
  const jobId = await env.opened();
  expect(jobId).not.toBeNull();
  return env.waitJob(jobId!);
}

/** A gene read answered as the plain read of the source table answers it. */
async function expectGeneReads(env: IndexEnv) {
  const answer = await env.gene(1);
  const plain = await readGene(env.datasets.get(env.datasetId).tables.get("expression")!, 1, 160);
  expect(answer.rowsRead).toBe(plain.rowsRead);
  expect(answer.nExpressing).toBe(plain.values.filter((v) => v > 0).length);
}

describe("gene index build process", () => {
  it("builds in another process at low priority, which reports its pid and is gone once the build is done", async () => {
    const seen: ChildMessage[] = [];
    let nice = NaN;
    const env = await indexEnv(root, path.join(dir, "cache-pid"), {
      onChildMessage: (m) => {
        seen.push(m);
        if (m.t !== "progress" || !Number.isNaN(nice)) return;
        const stat = readFileSync(`/proc/${m.pid}/stat`, "utf8");
        nice = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
      },
    });
    try {
      expect((await buildJob(env)).state).toBe("done");
      const build = env.explore.geneIndexOf(env.datasetId)!.lastBuild!;
      expect(build.pid).toBeGreaterThan(0);
      expect(build.pid).not.toBe(process.pid);
      expect(seen.map((m) => (m.t === "progress" ? `${m.phase} ${m.rows}` : m.t))).toEqual([
        "ready",
        "count 0",
        `count ${build.rows}`,
        `scatter ${build.rows}`,
        "done",
      ]);
      expect(seen.every((m) => m.pid === build.pid)).toBe(true);
      expect(nice).toBe(19);
      expect(build.rows).toBe(env.datasets.get(env.datasetId).summary.tables.find((t) => t.name === "expression")!.rows);
      expect(build.maxRssBytes).toBeGreaterThan(0);
      expect(alive(build.pid)).toBe(false);
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("ready");
    } finally {
      await env.close();
    }
  });

  it("a gene read from the source while the index builds holds the build still (SIGSTOP) and lets it go on after", async () => {
    let pid = 0;
    let firstProgress = () => undefined as void;
    const reading = new Promise<void>((resolve) => (firstProgress = resolve));
    const env = await indexEnv(synth, path.join(dir, "cache-held"), {
      onChildMessage: (m) => {
        if (m.t !== "progress" || pid) return;
        pid = m.pid;
        firstProgress();
      },
    });
    try {
      const jobId = await env.opened();
      await reading;
      const index = env.explore.geneIndexOf(env.datasetId)!;
      const during = await index.whileHeld(async () => {
        while (!["T", "Z"].includes(stateOf(pid))) await new Promise((resolve) => setTimeout(resolve, 10));
        return `${stateOf(pid)} ${index.state}`;
      });
      // Held (stopped) while still building.
      expect(during).toBe("T building");
      // Let go: it runs on and finishes; a read from the source meanwhile holds it the same way.
      const answer = await env.gene(1);
      const plain = await readGene(env.datasets.get(env.datasetId).tables.get("expression")!, 1, 1200);
      expect(answer.rowsRead).toBe(plain.rowsRead);
      const done = await env.waitJob(jobId!);
      expect(done.state).toBe("done");
      expect(index.state).toBe("ready");
    } finally {
      await env.close();
    }
  });

  it("closing the dataset mid-build kills the process and leaves no build folder, the source untouched", async () => {
    const before = await snapshotTree(root);
    const cacheDir = path.join(dir, "cache-cancel");
    let pid = 0;
    let closing: Promise<unknown> | null = null;
    const env = await indexEnv(root, cacheDir, {
      onChildMessage: (m) => {
        if (closing || m.t !== "progress") return;
        pid = m.pid;
        // Stopped, it cannot finish before the close: the SIGTERM the close sends waits for SIGCONT.
        process.kill(pid, "SIGSTOP");
        closing = env.datasets.close({ datasetId: env.datasetId });
        process.kill(pid, "SIGCONT");
      },
    });
    try {
      const done = await buildJob(env);
      await closing;
      expect(pid).toBeGreaterThan(0);
      expect(done.state).toBe("cancelled");
      expect(done.error?.code).toBe("EXPLORE_CANCELLED");
      expect(alive(pid)).toBe(false);
      expect(await indexFolders(cacheDir)).toEqual([]);
    } finally {
      await env.close();
    }
    expect(await snapshotTree(root)).toEqual(before);
  });

  it("a build killed by SIGKILL fails with a named error; gene reads go on and a later build succeeds", async () => {
    const cacheDir = path.join(dir, "cache-killed");
    let pid = 0;
    const env = await indexEnv(root, cacheDir, {
      onChildMessage: (m) => {
        // Stopped as soon as it speaks (a tiny build could otherwise end before a kill sent on "progress" lands),
        // then killed once the start message has been written to it (a dead child's pipe would fail that write).
        if (pid) return;
        pid = m.pid;
        process.kill(pid, "SIGSTOP");
        setTimeout(() => process.kill(pid, "SIGKILL"), 50);
      },
    });
    try {
      const done = await buildJob(env);
      expect(pid).toBeGreaterThan(0);
      expect(done.state).toBe("failed");
      expect(done.error?.code).toBe("INTERNAL");
      expect(done.error?.message).toBe("The gene index build ran out of memory or was killed (signal SIGKILL)");
      expect(await indexFolders(cacheDir)).toEqual([]);
      expect(env.explore.geneIndexOf(env.datasetId)!.state).toBe("failed");
      await expectGeneReads(env);
    } finally {
      await env.close();
    }
    const later = await indexEnv(root, cacheDir);
    try {
      expect((await buildJob(later)).state).toBe("done");
      expect(await indexFolders(cacheDir)).toHaveLength(1);
      expect(later.explore.geneIndexOf(later.datasetId)!.state).toBe("ready");
      await expectGeneReads(later);
    } finally {
      await later.close();
    }
  });

  // Stand-ins for a broken or hostile build process: each says it is ready, then answers the start message with `reply` (JS).
  const hostile: [string, string, string][] = [
    ["not an object", `process.send("done")`, "The gene index build process sent a malformed message"],
    ["an unknown type", `process.send({ t: "finished", pid: process.pid })`, "The gene index build process sent a malformed message"],
    [
      "done without its bytes",
      `process.send({ t: "done", pid: process.pid, bytes: "many", ms: 1, maxRssBytes: 1, rows: 1, writes: 2 })`,
      "The gene index build process sent a malformed message",
    ],
    [
      "an unknown error code",
      `process.send({ t: "error", pid: process.pid, code: "EVIL", message: "x" })`,
      "The gene index build process sent a malformed message",
    ],
    [
      "another process's pid",
      `process.send({ t: "progress", pid: process.ppid, phase: "count", rows: 0 })`,
      "The gene index build process sent a malformed message",
    ],
    ["progress without rows", `process.send({ t: "progress", pid: process.pid, phase: "scatter" })`, "The gene index build process sent a malformed message"],
    ["a second ready", `process.send({ t: "ready", pid: process.pid })`, "The gene index build process sent a malformed message"],
    ["an exit without done", `process.exit(0)`, "The gene index build process exited without finishing"],
    ["a non-zero exit", `process.exit(3)`, "The gene index build process stopped unexpectedly (exit code 3)"],
  ];
  it.each(hostile)("a build process that sends %s fails the build with a named error, and is stopped", async (name, reply, message) => {
    const base = path.join(dir, `hostile-${name.replace(/\W+/g, "-")}`);
    await fs.writeFile(
      `${base}.mjs`,
      [
        `import fs from "node:fs";`,
        `fs.writeFileSync(${JSON.stringify(`${base}.pid`)}, String(process.pid));`,
        `process.on("disconnect", () => process.exit(0));`,
        `process.on("message", () => { ${reply}; });`,
        `process.send({ t: "ready", pid: process.pid });`,
        `setInterval(() => undefined, 60_000);`,
      ].join("\n"),
    );
    const cacheDir = `${base}-cache`;
    const env = await indexEnv(root, cacheDir, { childFile: `${base}.mjs` });
    try {
      const jobId = await env.opened();
      const index = env.explore.geneIndexOf(env.datasetId)!;
      const done = await env.waitJob(jobId!);
      expect(done.state).toBe("failed");
      expect(done.error).toMatchObject({ code: "INTERNAL", message });
      expect(index.state).toBe("failed");
      expect(index.lastBuild).toBeNull();
      expect(alive(Number(await fs.readFile(`${base}.pid`, "utf8")))).toBe(false);
      expect(await indexFolders(cacheDir)).toEqual([]);
      await expectGeneReads(env);
    } finally {
      await env.close();
    }
  });

  it("the build process answers a malformed start message with a named error and exits", async () => {
    const good = { t: "start", srcUri: path.join(root, "expression.lance"), version: 1, tmpDir: dir, nGenes: 10, valueType: "uint16", stagingBytes: 1024 };
    for (const start of [
      { ...good, srcUri: "relative/expression.lance" },
      { ...good, valueType: "float16" },
      { ...good, nGenes: -1 },
      { ...good, stagingBytes: 0 },
      { t: "start" },
      "start",
    ]) {
      const child = fork(geneIndexChildPath(), [], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
      const replies: unknown[] = [];
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      child.on("message", (m) => {
        replies.push(m);
        if (replies.length === 1) child.send(start);
      });
      expect(await exited).toBe(1);
      expect(replies).toEqual([
        { t: "ready", pid: child.pid },
        { t: "error", pid: child.pid, code: "INTERNAL", message: "The gene index build process was sent a malformed start message" },
      ]);
    }
  });

  it("the build process stops mid-build when the process that started it dies (no orphan)", async () => {
    const tmpDir = path.join(dir, "orphan-build");
    await fs.mkdir(tmpDir);
    // A parent that starts a real build and, once it is under way, stops it (so that it cannot end before it sees
    // its parent gone) and is killed (SIGKILL: no cleanup of its own).
    const parent = path.join(dir, "dying-parent.mjs");
    const pidFile = path.join(dir, "orphan.pid");
    const srcUri = await fs.realpath(path.join(synth, "expression.lance"));
    const start = { t: "start", srcUri, version: 1, tmpDir, nGenes: loadPbmc().nGenes, valueType: "uint16", stagingBytes: 1 << 20 };
    await fs.writeFile(
      parent,
      [
        `import { fork } from "node:child_process";`,
        `import fs from "node:fs";`,
        `const child = fork(${JSON.stringify(geneIndexChildPath())}, [], { execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });`,
        `child.on("message", (m) => {`,
        `  if (m.t === "ready") child.send(${JSON.stringify(start)});`,
        `  if (m.t !== "progress") return;`,
        `  process.kill(m.pid, "SIGSTOP");`,
        `  fs.writeFileSync(${JSON.stringify(pidFile)}, String(m.pid));`,
        `  process.kill(process.pid, "SIGKILL");`,
        `});`,
      ].join("\n"),
    );
    const dying = fork(parent, [], { execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => dying.on("exit", (_code, sig) => resolve(sig)));
    expect(signal).toBe("SIGKILL");
    const pid = Number(await fs.readFile(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGCONT");
    // Not our child: wait until it has exited (a zombie awaiting its new parent's reaping counts as exited).
    while (running(pid)) await new Promise((resolve) => setTimeout(resolve, 20));
    // It stopped when its parent went, not at the end of its build: it never got to writing rows.
    expect(await fs.readdir(tmpDir)).not.toContain(VALUES_FILE);
  });
});
