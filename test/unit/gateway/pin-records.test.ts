/**
 * Loading pin records while another process completes a pin: its running record is renamed away between the
 * walk that listed it and the read, and the complete record must be found instead (else an eviction pass
 * protects neither and removes the blocks the pin just checked).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { currentOwner } from "../../../main/services/convert/stale";
import {
  completePinFile,
  loadRevisionPins,
  pinId,
  pinsDir,
  protectedByPins,
  runningPinFile,
  writePinRecord,
  type PinRecord,
} from "../../../main/services/gateway/cache-pins";
import type { WalkedRevision } from "../../../main/services/gateway/cache-walk";
import { tempDir } from "../../fixtures/slaf-fixture";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

function record(state: PinRecord["state"]): PinRecord {
  return {
    version: 1,
    id: pinId("pbmc.slaf", "expression", null),
    state,
    ...currentOwner(),
    repo: "acme/pbmc",
    sha: "a".repeat(40),
    dataset: "pbmc.slaf",
    table: "expression",
    tablePath: "pbmc.slaf/expression.lance",
    columns: null,
    createdAt: new Date(0).toISOString(),
    prefixes: state === "running" ? ["pbmc.slaf/expression.lance"] : [],
    files: state === "complete" ? { "pbmc.slaf/expression.lance/data/x.lance": { blockBytes: 1024, runs: [[0, 2]] } } : {},
    bytes: state === "complete" ? 3072 : 0,
    rows: 0,
  };
}

async function revisionWithRunningPin(): Promise<{ revision: WalkedRevision; running: string; complete: string }> {
  const dir = path.join(await tempDir("slafwb-pin-records-"), "a".repeat(40));
  dirs.push(path.dirname(dir));
  await fs.mkdir(pinsDir(dir), { recursive: true });
  const id = pinId("pbmc.slaf", "expression", null);
  const running = runningPinFile(dir, id);
  await writePinRecord(running, record("running"));
  return { revision: { sha: "a".repeat(40), dir, files: [], docBytes: 0, pinFiles: [running] }, running, complete: completePinFile(dir, id) };
}

describe("pin records", () => {
  it("a running record listed by the walk protects its folders", async () => {
    const { revision } = await revisionWithRunningPin();
    const { pins, dead } = await loadRevisionPins(revision);
    expect(dead).toEqual([]);
    expect(pins.map((p) => p.record.state)).toEqual(["running"]);
    expect(protectedByPins(pins).prefixes).toHaveLength(1);
  });

  it("a running record completed after the walk listed it: the complete record is found and its blocks protected", async () => {
    const { revision, running, complete } = await revisionWithRunningPin();
    // What PinRecorder does at the end, after the walk listed the running record and before it is read.
    await writePinRecord(complete, record("complete"));
    await fs.rm(running);
    const { pins } = await loadRevisionPins(revision);
    expect(pins.map((p) => [p.file, p.record.state])).toEqual([[complete, "complete"]]);
    expect(protectedByPins(pins).blocks.size).toBe(3);
  });

  it("a damaged record pins nothing and is not mistaken for one that vanished", async () => {
    const { revision, running } = await revisionWithRunningPin();
    await fs.writeFile(running, "{ not json");
    expect((await loadRevisionPins(revision)).pins).toEqual([]);
  });

  it("S3 records: a running one protects the bucket's whole folder, a complete one the blocks in each file's version folder", async () => {
    const bucketDir = path.join(await tempDir("slafwb-pin-records-"), "s3", "src", "bucket", "objects");
    dirs.push(path.dirname(path.dirname(path.dirname(path.dirname(bucketDir)))));
    const s3Record = (state: PinRecord["state"]): PinRecord => {
      const r = record(state);
      const files = Object.fromEntries(Object.entries(r.files).map(([k, f]) => [k, { ...f, version: "b".repeat(40) }]));
      return { ...r, source: "s3", repo: "bucket", sha: "", files };
    };
    const running = runningPinFile(bucketDir, "s3pin");
    await writePinRecord(running, s3Record("running"));
    const complete = completePinFile(bucketDir, "s3pin");
    await writePinRecord(complete, s3Record("complete"));
    const { pins } = await loadRevisionPins({ dir: bucketDir, pinFiles: [running, complete] });
    const { prefixes, blocks } = protectedByPins(pins);
    expect(prefixes).toEqual([`${bucketDir}${path.sep}`]);
    const dataDir = path.join(bucketDir, "b".repeat(40), "files", "pbmc.slaf", "expression.lance", "data", "x.lance");
    expect([...blocks].sort()).toEqual(["@0.blk", "@1024.blk", "@2048.blk"].map((b) => path.join(dataDir, b)));
  });
});
