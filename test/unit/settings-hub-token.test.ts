/**
 * A token saved in Settings reaches the running gateway without a restart: a private repo refused without it
 * opens once it is saved, a wrong one is refused by the Hub, and clearing it makes the Hub ask again. Lance reads
 * HF_ENDPOINT once per process, so this file runs in its own process with one gateway.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Services } from "../../main/services/index";
import { startFakeHub, type FakeHub } from "../fixtures/fake-hub";
import { failure, unwrap } from "../fixtures/result";
import { testServices } from "../fixtures/services";
import { tempDir, writePbmcSlaf } from "../fixtures/slaf-fixture";

const TOKEN = "hf_GoodTokenForThePrivateRepo0123456789";
const WRONG = "hf_WrongTokenTheHubRefuses0123456789ab";
const URI = "hf://datasets/acme/private/pbmc.slaf";
let dir: string;
let hub: FakeHub;
let services: Services;
const answers: string[] = [];

beforeAll(async () => {
  dir = await tempDir("slafwb-settings-token-");
  hub = await startFakeHub({ tokens: [TOKEN] });
  const repo = await hub.createRepo("acme/private", { private: true });
  await writePbmcSlaf(path.join(repo, "pbmc.slaf"), { cellsPerChunk: 100 });
  await hub.commit("acme/private");
  services = testServices(path.join(dir, "user"), {
    environment: { hubEndpoint: null, hfToken: null },
    sources: { hubEndpoint: hub.url, gateway: { retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } } },
  });
});
afterAll(async () => {
  await services?.dispose();
  await hub?.close();
  await fs.rm(dir, { recursive: true, force: true });
  for (const secret of [TOKEN, WRONG]) expect(answers.join("\n")).not.toContain(secret);
});

async function call(ns: "datasets" | "settings", method: string, arg: unknown) {
  const r = await services.dispatcher.call(ns, method, arg, "page-1");
  answers.push(JSON.stringify(r));
  return r;
}

describe("the HF token from Settings", () => {
  it("applies to the running gateway at once: refused without it, opened with it", async () => {
    expect(failure(await call("datasets", "open", { uri: URI })).code).toBe("AUTH_REQUIRED");
    expect(unwrap(await services.api.sources.status({})).gatewayRunning).toBe(true);

    expect(unwrap(await call("settings", "set", { hfToken: TOKEN }))).toMatchObject({ appliedNow: ["Hugging Face token"] });
    hub.resetLog();
    const opened = unwrap(await call("datasets", "open", { uri: URI })) as { name: string; tables: unknown[] };
    expect(opened.name).toBe("pbmc");
    expect(opened.tables.length).toBeGreaterThan(0);
    const toHubApi = hub.log.filter((r) => r.kind !== "cdn");
    expect(toHubApi.length).toBeGreaterThan(0);
    expect(toHubApi.every((r) => r.authorized)).toBe(true);
  });

  it("a wrong token is refused by the Hub (AUTH_INVALID); the right one works again; cleared, the Hub asks for one", async () => {
    await hub.commit("acme/private", { branch: "dev" });
    await hub.commit("acme/private", { branch: "next" });
    unwrap(await call("settings", "set", { hfToken: WRONG }));
    const refused = failure(await call("datasets", "open", { uri: `${URI}@dev` }));
    expect(refused.code).toBe("AUTH_INVALID");

    unwrap(await call("settings", "set", { hfToken: TOKEN }));
    expect(unwrap(await call("datasets", "open", { uri: `${URI}@dev` }))).toMatchObject({ revision: { requested: "dev" } });

    unwrap(await call("settings", "set", { hfToken: null }));
    expect(failure(await call("datasets", "open", { uri: `${URI}@next` })).code).toBe("AUTH_REQUIRED");
  });
});
