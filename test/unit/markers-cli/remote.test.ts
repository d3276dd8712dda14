/**
 * `slaf-workbench markers hf://...` through the built CLI and the fake Hub: the same document as the local copy,
 * then the same again offline from the shared cache without a request to the Hub.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useMarkersCli } from "./helpers";

const env = useMarkersCli({ beforeAll, afterAll });

describe("markers hf://", () => {
  it("gives the local copy's JSON, then the same offline", async () => {
    const flags = ["--groupby", "cell_type", "--group", "DC", "--reference", "B", "--top", "50", "--format", "json"];
    const local = await env.cli([env.root, ...flags]);
    expect(local.code, local.stderr).toBe(0);
    expect(JSON.parse(local.stdout).genes).toHaveLength(50);

    const online = await env.cli(["hf://datasets/acme/pbmc/pbmc.slaf@main", ...flags]);
    expect(online.stderr).toBe("");
    expect(online.code).toBe(0);
    expect(online.stdout).toBe(local.stdout);

    env.hub.resetLog();
    const offline = await env.cli(["hf://datasets/acme/pbmc/pbmc.slaf@main", ...flags, "--offline"]);
    expect(offline.stderr).toBe("");
    expect(offline.stdout).toBe(local.stdout);
    expect(env.hub.log).toEqual([]);
  });

  it("a repository that does not exist prints its named error", async () => {
    const r = await env.cli(["hf://datasets/acme/nothing/pbmc.slaf", "--groupby", "cell_type", "--group", "B"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^[A-Z_]+: .*acme\/nothing/m);
    expect(r.stdout).toBe("");
  });
});
