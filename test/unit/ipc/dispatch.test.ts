/** The door of main with the real services: argument checks, no stack traces, and each page's holdings. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEvent, QuerySummary } from "../../../shared/ipc/contract";
import type { Services } from "../../../main/services/index";
import { testServices } from "../../fixtures/services";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { failure, unwrap } from "../../fixtures/result";

let dir: string;
let root: string;
let notebookPath: string;
let services: Services;
const changed: string[] = [];

beforeAll(async () => {
  dir = await tempDir("slafwb-dispatch-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  notebookPath = path.join(dir, "nb.slafnb.md");
  await fs.writeFile(notebookPath, "# hi\n");
  services = testServices(path.join(dir, "user"), {
    emit: (name, payload) => {
      if (name === "notebook.changed") changed.push((payload as { path: string }).path);
    },
  });
});

/** Whether an outside edit of the notebook is reported (that is, whether anyone still watches it). */
async function editReported(): Promise<boolean> {
  changed.length = 0;
  await fs.appendFile(notebookPath, "more\n");
  await new Promise((r) => setTimeout(r, 600));
  return changed.includes(notebookPath);
}
afterAll(async () => {
  await services.dispose();
  await fs.rm(dir, { recursive: true, force: true });
});

const call = (ns: string, method: string, arg: unknown, session = "page-a") => services.dispatcher.call(ns, method, arg, session);

async function finished(jobId: string, session: string): Promise<JobEvent> {
  for (;;) {
    const event = unwrap(await call("jobs", "wait", { jobId, timeoutMs: 5_000 }, session)) as JobEvent;
    if (event.state !== "running") return event;
  }
}

describe("arguments are checked at the door", () => {
  it.each([
    ["datasets", "open", { uri: 123 }, /uri must be a non-empty string, got 123/],
    ["datasets", "open", {}, /uri must be a non-empty string, got undefined/],
    ["datasets", "open", null, /uri must be/],
    ["datasets", "open", "x", /the request must be an object/],
    ["datasets", "open", { uri: "/x", extra: 1 }, /unknown field "extra"/],
    ["datasets", "readRows", { datasetId: "ds1", table: "cells", offset: -1, limit: 10 }, /offset must be an integer/],
    ["datasets", "readRows", { datasetId: "ds1", table: "cells", offset: 0, limit: 1.5 }, /limit must be an integer/],
    ["datasets", "readRows", { datasetId: "ds1", table: "cells", offset: 0, limit: 10, columns: [1] }, /columns\[0\] must be a string/],
    ["query", "start", { datasetId: "ds1", sql: ["SELECT 1"] }, /sql must be a string/],
    ["query", "start", { datasetId: "../../etc", sql: "SELECT 1" }, /datasetId must be a dataset id/],
    ["query", "export", { resultId: "r1", format: "xlsx", path: "/tmp/x" }, /format must be one of csv, parquet/],
    ["notebooks", "write", { path: "/a.slafnb.md", text: "x", expectedMtimeMs: "yesterday" }, /expectedMtimeMs must be a number or null/],
    ["notebooks", "read", { path: "/a\u0000b" }, /NUL character/],
    ["jobs", "wait", { jobId: { $gt: "" } }, /jobId must be a job id/],
    ["app", "info", { anything: true }, /unknown field "anything" \(it takes none\)/],
  ])("%s.%s %j is INVALID_ARGUMENT naming the field", async (ns, method, arg, message) => {
    const e = failure(await call(ns, method, arg));
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.message).toMatch(message);
    expect(e.message.startsWith(`${ns}.${method}: `)).toBe(true);
  });

  it("refuses methods outside the contract, including inherited object keys", async () => {
    for (const [ns, method] of [
      ["datasets", "acquire"],
      ["datasets", "constructor"],
      ["__proto__", "x"],
      ["query", "toString"],
      ["datasets", "refuseWriteInside"],
    ]) {
      const e = failure(await call(ns, method, {}));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toMatch(/Unknown method/);
    }
  });

  it("never sends a stack trace: an unexpected failure is one line", async () => {
    const original = services.api.datasets.list;
    services.api.datasets.list = () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')\n    at Object.<anonymous> (/work/main/main/services/datasets/service.ts:1:1)");
    };
    try {
      const e = failure(await call("datasets", "list", {}));
      expect(e.code).toBe("INTERNAL");
      expect(e.message).toBe("Cannot read properties of undefined (reading 'x')");
      expect(JSON.stringify(e)).not.toMatch(/\n\s+at |service\.ts/);
    } finally {
      services.api.datasets.list = original;
    }
  });

  it("bounds jobs.wait through the door: it answers with the running event instead of hanging", async () => {
    const ds = unwrap(await call("datasets", "open", { uri: root }, "page-wait"));
    const { jobId } = unwrap(
      await call("query", "start", { datasetId: (ds as { datasetId: string }).datasetId, sql: "SELECT count(*) FROM expression" }, "page-wait"),
    ) as { jobId: string };
    const first = unwrap(await call("jobs", "wait", { jobId, timeoutMs: 0 }, "page-wait")) as JobEvent;
    expect(["running", "done"]).toContain(first.state);
    expect((await finished(jobId, "page-wait")).state).toBe("done");
    await services.dispatcher.endSession("page-wait");
  });
});

describe("each page's holdings", () => {
  it("gives back dataset references, results and watches when the page goes, and only then", async () => {
    const pages = ["p1", "p2", "p3"];
    const results: string[] = [];
    for (const page of pages) {
      const ds = unwrap(await call("datasets", "open", { uri: root }, page)) as { datasetId: string };
      const { jobId } = unwrap(
        await call("query", "start", { datasetId: ds.datasetId, sql: "SELECT cell_type, count(*) AS n FROM cells GROUP BY 1" }, page),
      ) as { jobId: string };
      const end = await finished(jobId, page);
      results.push((end.result as QuerySummary).resultId);
      unwrap(await call("notebooks", "watch", { path: notebookPath }, page));
    }
    const datasetId = (unwrap(await services.api.datasets.list({})) as { datasetId: string }[])[0].datasetId;
    expect(services.datasets.get(datasetId).refs).toBe(3);

    // One page cannot give back what another holds.
    expect(failure(await call("datasets", "close", { datasetId }, "stranger")).code).toBe("DATASET_NOT_OPEN");
    expect(failure(await call("query", "release", { resultId: results[0] }, "p2")).code).toBe("RESULT_NOT_FOUND");
    expect(services.datasets.get(datasetId).refs).toBe(3);

    await services.dispatcher.endSession("p1");
    expect(services.datasets.get(datasetId).refs).toBe(2);
    expect(await editReported()).toBe(true);
    expect(failure(await call("query", "page", { resultId: results[0], offset: 0, limit: 10 }, "p2")).code).toBe("RESULT_NOT_FOUND");
    expect(unwrap(await call("query", "page", { resultId: results[1], offset: 0, limit: 10 }, "p2"))).toMatchObject({ numRows: 8 });

    await services.dispatcher.endSession("p2");
    await services.dispatcher.endSession("p3");
    expect(unwrap(await services.api.datasets.list({}))).toEqual([]);
    for (const resultId of results) expect(failure(await services.api.query.page({ resultId, offset: 0, limit: 1 })).code).toBe("RESULT_NOT_FOUND");
    expect(await editReported()).toBe(false);
  });

  it("releases the result of a query that finishes after its page went", async () => {
    const ds = unwrap(await call("datasets", "open", { uri: root }, "gone")) as { datasetId: string };
    const { jobId } = unwrap(await call("query", "start", { datasetId: ds.datasetId, sql: "SELECT * FROM expression", confirmed: true }, "gone")) as {
      jobId: string;
    };
    await services.dispatcher.endSession("gone");
    const end = unwrap(await services.api.jobs.wait({ jobId }));
    if (end.state === "done") {
      await new Promise((r) => setTimeout(r, 50));
      expect(failure(await services.api.query.page({ resultId: (end.result as QuerySummary).resultId, offset: 0, limit: 1 })).code).toBe("RESULT_NOT_FOUND");
    } else expect(end.state).toBe("cancelled");
    expect(unwrap(await services.api.datasets.list({}))).toEqual([]);
  });
});
