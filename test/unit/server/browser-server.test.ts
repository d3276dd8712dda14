import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startServe, type RunningServer } from "../../../main/commands/serve";
import { arrow } from "../../../main/services/arrow";
import { decodeFrame, encodeFrame, type WireMessage } from "../../../shared/ipc/wire";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";

let dir: string;
let root: string;
let running: RunningServer;

beforeAll(async () => {
  dir = await tempDir();
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  running = await startServe([root, "--port", "0", "--user-data", path.join(dir, "user-data")]);
});
afterAll(async () => {
  await running.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function call(ws: WebSocket, id: number, ns: string, method: string, arg: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string } }> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const msg = decodeFrame(new Uint8Array(data)) as WireMessage;
      if (msg.t === "result" && msg.id === id) {
        ws.off("message", onMessage);
        resolve(msg.result as never);
      }
    };
    ws.on("message", onMessage);
    ws.send(encodeFrame({ t: "call", id, ns, method, arg }));
  });
}

describe("browser-mode server", () => {
  it("listens on 127.0.0.1 only, with a random token in the URL", () => {
    expect(running.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
  });

  it("serves the contract over the WebSocket, with Arrow bytes intact", async () => {
    const ws = await connect(`ws://127.0.0.1:${running.server.port}/ws?token=${running.server.token}`);
    const info = await call(ws, 1, "app", "info", {});
    expect(info).toMatchObject({ ok: true, value: { mode: "browser", initialDatasetUri: root } });
    const opened = (await call(ws, 2, "datasets", "open", { uri: root })) as { ok: true; value: { datasetId: string } };
    expect(opened.ok).toBe(true);
    const page = (await call(ws, 3, "datasets", "readRows", { datasetId: opened.value.datasetId, table: "cells", offset: 0, limit: 5 })) as {
      ok: true;
      value: { arrow: Uint8Array };
    };
    const t = arrow.tableFromIPC(page.value.arrow);
    expect(t.numRows).toBe(5);
    expect(t.getChild("cell_id")!.get(0)).toBe("AAACATACAACCAC-1");
    expect(await call(ws, 4, "nope", "x", {})).toMatchObject({ ok: false, error: { code: "INVALID_ARGUMENT" } });
    const missing = await call(ws, 5, "datasets", "open", { uri: path.join(dir, "missing") });
    expect(missing).toMatchObject({ ok: false, error: { code: "DATASET_NOT_FOUND" } });
    ws.close();
  });
});
