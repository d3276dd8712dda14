/**
 * Issue 8's "done when": the browser-mode server (the built CLI, `serve`, real services on a temp PBMC dataset,
 * in its own process) stays up through a few thousand random and malformed requests and frames, with and
 * without the token; every request and call gets an answer or a close; a normal call still answers after.
 * The seed is printed; set SLAFWB_FUZZ_SEED to replay a run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { arrow } from "../../../main/services/arrow";
import { decodeMessage } from "../../../shared/ipc/wire";
import type { Result } from "../../../shared/result";
import { PROJECT_ROOT } from "../../fixtures/pbmc";
import { unwrap } from "../../fixtures/result";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { prng, randomFrame, randomHttpRequest, type FuzzContext, type FuzzFrame, type Rng } from "./fuzz-inputs";
import { call, openWs } from "./harness";

const HTTP_REQUESTS = 1500;
const FRAMES = 2500;
const PARALLEL = 8;
/** A hang detector, not a speed limit: nothing here should come near it. */
const NO_ANSWER_MS = 60_000;
const TOKEN = "fuzz-token-0123456789abcdefghij";

let dir: string;
let child: ChildProcess;
let output = "";
let ctx: FuzzContext;
let keeper: WebSocket;

function waitForUrl(proc: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /serving at http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    proc.once("exit", (code) => reject(new Error(`serve exited with ${code} before listening:\n${output}`)));
  });
}

beforeAll(async () => {
  dir = await tempDir("slafwb-fuzz-");
  const root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  const scratch = path.join(dir, "scratch");
  await fs.mkdir(scratch);
  child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, "dist", "main", "cli.mjs"), "serve", root, "--port", "0", "--user-data", path.join(dir, "user-data")],
    {
      cwd: scratch,
      env: { ...process.env, SLAFWB_TOKEN: TOKEN },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const port = await waitForUrl(child);
  const page = await fetch(`http://127.0.0.1:${port}/?token=${TOKEN}`);
  await page.arrayBuffer();
  const cookie = page.headers.get("set-cookie")!.split(";")[0];
  keeper = await openWs(`ws://127.0.0.1:${port}/ws?token=${TOKEN}&session=fuzz-keeper-page-0001`);
  const { datasetId } = unwrap(await call<{ datasetId: string }>(keeper, "datasets", "open", { uri: root }));
  ctx = { port, token: TOKEN, cookie, root, datasetId, scratch };
});

afterAll(async () => {
  keeper?.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await fs.rm(dir, { recursive: true, force: true });
});

function alive(): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends one request on its own connection; resolves with the status line's code (null if closed without one). */
function sendHttp({ bytes, halfClose }: { bytes: Buffer; halfClose: boolean }): Promise<{ status: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(ctx.port, "127.0.0.1", () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`No answer and no close within ${NO_ANSWER_MS} ms for request ${JSON.stringify(bytes.toString("latin1").slice(0, 300))}`));
    }, NO_ANSWER_MS);
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? NaN) || null, text });
    });
  });
}

async function inParallel<T>(items: T[], worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < items.length) await worker(items[next++]);
    }),
  );
}

interface FrameTally {
  answered: number;
  closes: Map<number, number>;
  errors: Map<string, number>;
  stacks: string[];
}

/** Opens an authorised socket (sometimes with a page session) for the frame barrage. */
function frameSocket(rng: Rng): Promise<WebSocket> {
  const session = rng.chance(0.5) ? `&session=fuzz-page-${rng.int(1e9).toString().padStart(9, "0")}` : "";
  return openWs(`ws://127.0.0.1:${ctx.port}/ws?token=${TOKEN}${session}`);
}

/**
 * Sends a frame and waits for its consequence: the result with its id, or the close. Any other binary frame
 * (a push event) is skipped. Resolves "open" when the socket is still usable afterwards.
 */
function sendFrame(ws: WebSocket, frame: FuzzFrame, tally: FrameTally): Promise<"open" | "closed"> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`No answer and no close within ${NO_ANSWER_MS} ms for ${frame.kind} frame ${JSON.stringify(frame.data.toString("latin1").slice(0, 300))}`),
        ),
      NO_ANSWER_MS,
    );
    const finish = (state: "open" | "closed") => {
      clearTimeout(timer);
      ws.off("message", onMessage);
      ws.off("close", onClose);
      resolve(state);
    };
    const onMessage = (data: Buffer) => {
      const msg = decodeMessage(new Uint8Array(data));
      if (msg.t !== "result") return;
      const result = msg.result as Result<unknown>;
      tally.answered++;
      if (!result.ok) {
        tally.errors.set(result.error.code, (tally.errors.get(result.error.code) ?? 0) + 1);
        const text = JSON.stringify(result.error);
        if (/\\n\s+at |\n\s+at /.test(text)) tally.stacks.push(text.slice(0, 500));
      }
      if (frame.kind === "binary" && frame.id !== null && msg.id !== frame.id) {
        reject(new Error(`Answer for id ${msg.id} while waiting for ${frame.id}`));
        return;
      }
      finish("open");
    };
    const onClose = (code: number) => {
      tally.closes.set(code, (tally.closes.get(code) ?? 0) + 1);
      finish("closed");
    };
    ws.on("message", onMessage);
    ws.on("close", onClose);
    if (frame.kind === "binary") ws.send(frame.data);
    else if (frame.kind === "text") ws.send(frame.data);
    else {
      // Raw bytes may announce a frame longer than they are: end our side so the server sees the end.
      const socket = (ws as unknown as { _socket: net.Socket })._socket;
      socket.end(frame.data);
    }
  });
}

describe("server fuzz", () => {
  it("stays up and answers through random and malformed requests and frames", async () => {
    const seed = Number(process.env.SLAFWB_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`server fuzz seed ${seed} (replay with SLAFWB_FUZZ_SEED=${seed})`);
    const rng = prng(seed);

    const statuses = new Map<number | null, number>();
    const requests = Array.from({ length: HTTP_REQUESTS }, () => randomHttpRequest(rng, ctx));
    await inParallel(requests, async (request) => {
      const { status, text } = await sendHttp(request);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      expect(status, `request ${JSON.stringify(request.bytes.toString("latin1").slice(0, 200))}`).not.toBe(500);
      expect(text).not.toMatch(/\n\s+at /);
    });
    expect(alive(), output).toBe(true);

    const tally: FrameTally = { answered: 0, closes: new Map(), errors: new Map(), stacks: [] };
    const lanes = Array.from({ length: PARALLEL }, (_, lane) => ({ lane, rng: prng(seed + lane + 1) }));
    let sent = 0;
    await inParallel(lanes, async ({ rng: laneRng }) => {
      let ws = await frameSocket(laneRng);
      for (let i = 0; i < FRAMES / PARALLEL; i++) {
        const frame = randomFrame(laneRng, ctx, 1 + laneRng.int(1e9));
        sent++;
        if ((await sendFrame(ws, frame, tally)) === "closed") ws = await frameSocket(laneRng);
      }
      ws.close();
    });
    console.log(
      `server fuzz: ${HTTP_REQUESTS} requests (statuses ${JSON.stringify(Object.fromEntries(statuses))}), ${sent} frames ` +
        `(${tally.answered} answered, closes ${JSON.stringify(Object.fromEntries(tally.closes))}, errors ${JSON.stringify(Object.fromEntries(tally.errors))})`,
    );
    expect(tally.stacks).toEqual([]);
    expect(tally.answered + [...tally.closes.values()].reduce((a, b) => a + b, 0)).toBe(sent);
    expect(alive(), output).toBe(true);

    // A normal page still works, and the keeper page's dataset is intact.
    const page = await fetch(`http://127.0.0.1:${ctx.port}/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    const ws = await openWs(`ws://127.0.0.1:${ctx.port}/ws?token=${TOKEN}`);
    expect(await call(ws, "app", "info", {})).toMatchObject({ ok: true, value: { mode: "browser", initialDatasetUri: ctx.root } });
    const rows = unwrap(await call<{ arrow: Uint8Array }>(keeper, "datasets", "readRows", { datasetId: ctx.datasetId, table: "cells", offset: 0, limit: 3 }));
    expect(arrow.tableFromIPC(rows.arrow).getChild("cell_id")!.get(0)).toBe("AAACATACAACCAC-1");
    ws.close();
    expect(alive(), output).toBe(true);
  });
});
