import { describe, expect, it } from "vitest";
import { Recents } from "../../renderer/stores/recents.svelte";
import { datasetOrigin, remoteUriFromInput } from "../../renderer/stores/remote-uri";

function memoryStorage(initial: Record<string, string> = {}) {
  const map = new Map(Object.entries(initial));
  return { map, storage: { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) } };
}

describe("recent datasets", () => {
  it("keeps local folders and remote URIs apart, newest first, and survives a reload", () => {
    const { storage } = memoryStorage();
    const r = new Recents(storage);
    r.add("/data/a.slaf", "a");
    r.add("hf://datasets/acme/pbmc/pbmc.slaf@main", "pbmc");
    r.add("/data/b.slaf", "b");
    r.add("s3://bucket/atlas.slaf", "atlas");
    expect(r.local.map((x) => x.name)).toEqual(["b", "a"]);
    expect(r.remote.map((x) => x.name)).toEqual(["atlas", "pbmc"]);
    const again = new Recents(storage);
    expect(again.local.map((x) => x.uri)).toEqual(["/data/b.slaf", "/data/a.slaf"]);
    expect(again.remote.map((x) => x.uri)).toEqual(["s3://bucket/atlas.slaf", "hf://datasets/acme/pbmc/pbmc.slaf@main"]);
  });

  it("many remote datasets never push the local folders out (each kind keeps its last eight)", () => {
    const r = new Recents(memoryStorage().storage);
    r.add("/data/a.slaf", "a");
    r.add("/data/b.slaf", "b");
    for (let i = 0; i < 12; i++) r.add(`hf://datasets/acme/repo${i}`, `repo${i}`);
    expect(r.local.map((x) => x.name)).toEqual(["b", "a"]);
    expect(r.remote).toHaveLength(8);
    expect(r.remote[0].name).toBe("repo11");
  });

  it("opening again moves an entry to the top; forgetting removes it", () => {
    const r = new Recents(memoryStorage().storage);
    r.add("hf://datasets/acme/x", "x");
    r.add("hf://datasets/acme/y", "y");
    r.add("hf://datasets/acme/x", "x");
    expect(r.remote.map((x) => x.name)).toEqual(["x", "y"]);
    r.remove("hf://datasets/acme/x");
    expect(r.items.map((x) => x.name)).toEqual(["y"]);
  });

  it("a damaged stored list is read as empty, and entries without a name are dropped", () => {
    expect(new Recents(memoryStorage({ "slafwb.recent": "{not json" }).storage).items).toEqual([]);
    const stored = JSON.stringify([{ uri: "/data/a.slaf", name: "a", openedAt: 1 }, { uri: "/data/b.slaf" }, null, 7]);
    expect(new Recents(memoryStorage({ "slafwb.recent": stored }).storage).items.map((x) => x.name)).toEqual(["a"]);
  });
});

describe("the Remote field", () => {
  it("takes hf:// and s3:// URIs as they are", () => {
    expect(remoteUriFromInput("  hf://datasets/acme/pbmc/pbmc.slaf@main ")).toEqual({ uri: "hf://datasets/acme/pbmc/pbmc.slaf@main" });
    expect(remoteUriFromInput("s3://bucket/prefix/atlas.slaf")).toEqual({ uri: "s3://bucket/prefix/atlas.slaf" });
  });

  it("turns a Hub page address pasted from the browser into its hf:// URI", () => {
    expect(remoteUriFromInput("https://huggingface.co/datasets/acme/pbmc")).toEqual({ uri: "hf://datasets/acme/pbmc" });
    expect(remoteUriFromInput("https://huggingface.co/datasets/acme/pbmc/tree/main/pbmc.slaf")).toEqual({ uri: "hf://datasets/acme/pbmc/pbmc.slaf@main" });
    expect(remoteUriFromInput("https://huggingface.co/datasets/acme/pbmc/tree/v1.0/data/pbmc.slaf/")).toEqual({
      uri: "hf://datasets/acme/pbmc/data/pbmc.slaf@v1.0",
    });
  });

  it("says what is wrong with anything else", () => {
    expect(remoteUriFromInput("/data/pbmc.slaf")).toEqual({ problem: expect.stringContaining("hf://datasets/") });
    expect(remoteUriFromInput("hf://acme/pbmc")).toEqual({ problem: expect.stringContaining("hf://datasets/<owner>/<repo>") });
    expect(remoteUriFromInput("s3://")).toEqual({ problem: expect.stringContaining("s3://<bucket>") });
  });
});

describe("where a dataset comes from", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";

  it("Hub: repo, folder, revision asked for and the commit it is pinned to", () => {
    const o = datasetOrigin({ uri: "hf://datasets/acme/pbmc/data/pbmc.slaf@main", source: "hf", revision: { requested: "main", sha } });
    expect(o).toEqual({
      source: "hf",
      label: "Hugging Face",
      where: "acme/pbmc",
      path: "data/pbmc.slaf",
      revision: { requested: "main", sha, short: "0123456" },
    });
    const before = datasetOrigin({ uri: "hf://datasets/acme/pbmc@refs/pr/1/pbmc.slaf", source: "hf", revision: { requested: "refs/pr/1", sha } });
    expect([before.where, before.path]).toEqual(["acme/pbmc", "pbmc.slaf"]);
    const root = datasetOrigin({ uri: "hf://datasets/acme/pbmc", source: "hf", revision: { requested: "main", sha } });
    expect([root.where, root.path]).toEqual(["acme/pbmc", ""]);
  });

  it("S3: bucket and prefix; a local folder: its path", () => {
    expect(datasetOrigin({ uri: "s3://bucket/atlases/pbmc.slaf", source: "s3", revision: null })).toMatchObject({
      label: "S3",
      where: "bucket",
      path: "atlases/pbmc.slaf",
      revision: null,
    });
    expect(datasetOrigin({ uri: "/data/pbmc.slaf", source: "local", revision: null })).toMatchObject({
      label: "Local folder",
      where: "/data/pbmc.slaf",
      path: "",
    });
  });
});
