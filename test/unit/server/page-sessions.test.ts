/**
 * Item 6 of issue 8 (server side): a browser page that closes gives back its dataset references, query results
 * and notebook watches once its session's grace period has passed; a reconnect within the grace keeps them.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type WebSocket from "ws";
import type { JobEvent } from "../../../shared/ipc/contract";
import { unwrap } from "../../fixtures/result";
import { call, closed, openWs, startTestServer, type TestServer } from "./harness";

const SQL = "SELECT cell_type, COUNT(*) AS n FROM cells GROUP BY 1";

/** What one page did: the dataset it opened, the result of its query, the notebook it watches. */
interface PageWork {
  datasetId: string;
  resultId: string;
  notebook: string;
}

function sessionId(i: number): string {
  return `page-session-${String(i).padStart(6, "0")}`;
}

async function runQuery(ws: WebSocket, datasetId: string): Promise<string> {
  const { jobId } = unwrap(await call<{ jobId: string }>(ws, "query", "start", { datasetId, sql: SQL }));
  for (;;) {
    const event = unwrap(await call<JobEvent>(ws, "jobs", "wait", { jobId }));
    if (event.state === "running") continue;
    if (event.kind !== "query" || event.state !== "done" || !event.result) throw new Error(`query ${jobId} ended ${event.state}: ${event.error?.message}`);
    return event.result.resultId;
  }
}

async function doPageWork(t: TestServer, ws: WebSocket, i: number): Promise<PageWork> {
  const { datasetId } = unwrap(await call<{ datasetId: string }>(ws, "datasets", "open", { uri: t.root }));
  const resultId = await runQuery(ws, datasetId);
  const notebook = path.join(t.dir, `page-${i % 7}.slafnb.md`);
  unwrap(await call(ws, "notebooks", "watch", { path: notebook }));
  return { datasetId, resultId, notebook };
}

async function resultExists(t: TestServer, resultId: string): Promise<boolean> {
  const r = await t.services.query.page({ resultId, offset: 0, limit: 1 });
  if (!r.ok && r.error.code !== "RESULT_NOT_FOUND") throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.ok;
}

describe("page sessions end after their grace period", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ sessionGraceMs: 100 });
  });
  afterAll(async () => {
    await t.stop();
  });

  it("50 pages that open, query, watch and close leave no datasets, results or watches behind", async () => {
    const work: PageWork[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const pages = Array.from({ length: 10 }, (_, k) => batch * 10 + k);
      await Promise.all(
        pages.map(async (i) => {
          const ws = await openWs(t.wsUrl({ token: t.server.token, session: sessionId(i) }));
          work.push(await doPageWork(t, ws, i));
          const done = closed(ws);
          ws.close();
          await done;
        }),
      );
    }
    expect(work).toHaveLength(50);
    expect(new Set(work.map((w) => w.resultId)).size).toBe(50);
    await vi.waitFor(() => expect(t.server.sessions()).toEqual([]), { timeout: 30_000 });
    await t.server.sessionsSettled();
    expect(await t.services.datasets.list({})).toEqual({ ok: true, value: [] });
    for (const w of work) expect(await resultExists(t, w.resultId), w.resultId).toBe(false);
    expect(t.services.notebooks.holdings().watchedFiles).toBe(0);
  });

  it("a page without a session id gets one per connection, ended when it closes", async () => {
    const ws = await openWs(t.wsUrl());
    const { datasetId } = unwrap(await call<{ datasetId: string }>(ws, "datasets", "open", { uri: t.root }));
    expect(datasetId).toBeTruthy();
    expect(t.server.sessions()).toEqual([{ session: expect.stringMatching(/^conn-/), sockets: 1, ending: false }]);
    ws.close();
    await vi.waitFor(() => expect(t.server.sessions()).toEqual([]), { timeout: 30_000 });
    await t.server.sessionsSettled();
    expect(await t.services.datasets.list({})).toEqual({ ok: true, value: [] });
  });

  it("refuses a malformed session id with 400", async () => {
    for (const session of ["short", "x".repeat(129), "has space in it here", "../../../../etc/passwd"]) {
      await expect(openWs(t.wsUrl({ token: t.server.token, session })), session).rejects.toThrow(/400/);
    }
  });
});

describe("a reconnect within the grace period resumes the session", () => {
  let t: TestServer;
  beforeAll(async () => {
    // Long enough that the grace never runs out during the test; the server's close ends what is left.
    t = await startTestServer({ sessionGraceMs: 10 * 60_000 });
  });
  afterAll(async () => {
    await t.stop();
  });

  it("keeps the dataset, result and watch, and ends only when the last of two sockets is gone", async () => {
    const session = sessionId(999);
    const first = await openWs(t.wsUrl({ token: t.server.token, session }));
    const w = await doPageWork(t, first, 0);
    const second = await openWs(t.wsUrl({ token: t.server.token, session }));
    expect(t.server.sessions()).toEqual([{ session, sockets: 2, ending: false }]);
    first.close();
    await closed(first);
    await vi.waitFor(() => expect(t.server.sessions()).toEqual([{ session, sockets: 1, ending: false }]));
    second.close();
    await closed(second);
    await vi.waitFor(() => expect(t.server.sessions()).toEqual([{ session, sockets: 0, ending: true }]));

    const again = await openWs(t.wsUrl({ token: t.server.token, session }));
    expect(t.server.sessions()).toEqual([{ session, sockets: 1, ending: false }]);
    expect(unwrap(await t.services.datasets.list({})).map((d) => d.datasetId)).toEqual([w.datasetId]);
    expect(await resultExists(t, w.resultId)).toBe(true);
    expect(t.services.notebooks.holdings().watchedFiles).toBe(1);
    // The resumed page still owns what it held: it may release its result and close its dataset.
    expect(await call(again, "query", "release", { resultId: w.resultId })).toEqual({ ok: true, value: null });
    expect(await call(again, "datasets", "close", { datasetId: w.datasetId })).toEqual({ ok: true, value: null });
    expect(await t.services.datasets.list({})).toEqual({ ok: true, value: [] });
    again.close();
  });
});
