/**
 * Answers read from the disk cache are assembled in pooled buffers (read-buffers.ts), used again once an answer
 * has gone to the socket: many answers at once, and one after another, each get exactly their own bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { giveReadBuffer, takeReadBuffer } from "../../../main/services/gateway/read-buffers";
import { getThrough, openStream, resolveUrl, uploadBlobs } from "./cache-helpers";
import { hubEnv, type HubEnv } from "./helpers";

const KB = 1024;
const REPO = "acme/pooled";
let env: HubEnv;
let sha: string;
let source: Buffer;
let big: Buffer;

beforeAll(async () => {
  env = await hubEnv({ dataset: false, gateway: { blockBytes: 16 * KB } });
  const uploaded = await uploadBlobs(env, REPO, { "f.bin": 512 * KB, "big.bin": 6 * 1024 * KB });
  sha = uploaded.sha;
  source = uploaded.bytes.get("f.bin")!;
  big = uploaded.bytes.get("big.bin")!;
  // Every block on disk.
  await getThrough(env.gateway, REPO, sha, "f.bin");
  await getThrough(env.gateway, REPO, sha, "big.bin");
});
afterAll(async () => {
  await env?.close();
});

describe("pooled read buffers", () => {
  it("come in power-of-two sizes from 64 KiB, and one given back is the next of its size taken", () => {
    const a = takeReadBuffer(100);
    expect(a.length).toBe(64 * KB);
    const b = takeReadBuffer(300 * KB);
    expect(b.length).toBe(512 * KB);
    giveReadBuffer(b);
    expect(takeReadBuffer(257 * KB)).toBe(b);
    expect(takeReadBuffer(9 * 1024 * KB).length).toBe(9 * 1024 * KB); // above the pooled sizes: exact, never kept
  });

  it("hold each answer's own bytes, many at once and one after another", async () => {
    const ranges = Array.from({ length: 40 }, (_, k) => {
      const start = (k * 12_345) % (400 * KB);
      return [start, start + 1 + ((k * 7_919) % (100 * KB))] as const;
    });
    env.hub.resetLog();
    for (let round = 0; round < 3; round++) {
      const bodies = await Promise.all(ranges.map(([a, b]) => getThrough(env.gateway, REPO, sha, "f.bin", `bytes=${a}-${b}`)));
      bodies.forEach((body, k) => expect(body.equals(source.subarray(ranges[k][0], ranges[k][1] + 1)), `range ${ranges[k].join("-")}`).toBe(true));
    }
    expect(env.hub.log).toEqual([]); // all from the disk cache
  });

  it("stay with an answer its client has not read yet while later answers take buffers of the same size", async () => {
    env.hub.resetLog();
    const stalled = await openStream(resolveUrl(env.gateway, REPO, sha, "big.bin"));
    expect(stalled.status).toBe(200);
    const first = (await stalled.next())!;
    for (let round = 0; round < 3; round++) {
      const starts = [0, 256 * KB, 512 * KB + 3];
      const bodies = await Promise.all(starts.map((a) => getThrough(env.gateway, REPO, sha, "big.bin", `bytes=${a}-${a + 5 * 1024 * KB}`)));
      bodies.forEach((body, k) => expect(body.equals(big.subarray(starts[k], starts[k] + 5 * 1024 * KB + 1))).toBe(true));
    }
    expect(Buffer.concat([first, await stalled.rest()]).equals(big)).toBe(true);
    expect(env.hub.log).toEqual([]);
  });
});
