import { existsSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppFailure } from "../../../shared/result";
import { convertFile } from "../../../main/services/convert/convert";
import { MtxBody } from "../../../main/services/convert/mtx-body";
import { Inflater } from "../../../main/services/convert/inflate";
import { inflatedBlocks } from "../../../main/services/convert/inflate-worker";
import { bytesOf, mtxRowChunks, StreamChunker, UnsortedInput, type MtxReadConfig } from "../../../main/services/convert/mtx-chunks";
import { MtxError, MtxParser } from "../../../main/services/convert/mtx-parse";
import { mtxChunksInWorker } from "../../../main/services/convert/mtx-worker";
import { convertWorkerPath } from "../../../main/services/resources";
import type { RowChunk } from "../../../main/services/convert/source";
import { loadPbmc, PBMC_DIR } from "../../fixtures/pbmc";
import { tempDir } from "../../fixtures/slaf-fixture";
import { readBack, triples } from "./read-back";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-mtx-fast-");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A seeded split of `buf` into pieces of 1..max bytes. */
function pieces(buf: Buffer, max: number, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let s = seed;
  for (let at = 0; at < buf.length;) {
    s = (s * 1103515245 + 12345) >>> 0;
    const n = 1 + (s % max);
    out.push(buf.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Every entry of an MTX text, the plain way: "row col value" per entry line. */
function reference(text: string): string[] {
  const lines = text.split("\n").map((l) => l.trim());
  let i = 0;
  while (lines[i].startsWith("%")) i++;
  i++;
  return lines
    .slice(i)
    .filter((l) => l && !l.startsWith("%"))
    .map((l) => {
      const [r, c, v] = l.split(/\s+/);
      return `${Number(r)} ${Number(c)} ${v === undefined ? 1 : Math.fround(Number(v))}`;
    });
}

function parseAll(buf: Buffer, max: number, seed: number): string[] {
  const header = new MtxParser();
  const parts = pieces(buf, max, seed);
  let k = 0;
  while (header.feed(parts[k++]));
  const out: string[] = [];
  const body = new MtxBody(header.header!, { put: (r, c, v) => out.push(`${r} ${c} ${Math.fround(v)}`) });
  body.feed(header.body!);
  for (; k < parts.length; k++) body.feed(parts[k]);
  body.end();
  return out;
}

describe("MTX body parser", () => {
  it("parses the PBMC matrix exactly, whatever the chunk boundaries", () => {
    const text = gunzipSync(readFileSync(path.join(PBMC_DIR, "matrix.mtx.gz")));
    const expected = reference(text.toString("latin1"));
    expect(expected).toHaveLength(151_815);
    for (const [max, seed] of [
      [7, 1],
      [1000, 2],
      [1 << 20, 3],
    ]) {
      expect(parseAll(text, max, seed)).toEqual(expected);
    }
  });

  it("parses the unusual lines the careful way: CRLF, tabs, spaces, comments and blank lines, real and pattern values", () => {
    const real = Buffer.from(
      "%%MatrixMarket matrix coordinate real general\r\n% made by hand\r\n3 4 6\r\n1 1 2.5\r\n2\t3\t1e3\n\n% a comment in the body\n  3  4  -0.125 \n1 2 7\n3 1 0.1\r\n2 2 1",
    );
    expect(parseAll(real, 5, 9)).toEqual(["1 1 2.5", "2 3 1000", "3 4 -0.125", "1 2 7", `3 1 ${Math.fround(0.1)}`, "2 2 1"]);
    const pattern = Buffer.from("%%MatrixMarket matrix coordinate pattern general\n2 2 2\n1 2\n2 1\n");
    expect(parseAll(pattern, 3, 4)).toEqual(["1 2 1", "2 1 1"]);
  });

  it("words its errors as before", () => {
    const bad = (body: string) => () => parseAll(Buffer.from(`%%MatrixMarket matrix coordinate integer general\n3 2 2\n${body}`), 4, 5);
    expect(bad("1 1 5\n4 2 1\n")).toThrow(new MtxError("entry 2 is at (4, 2), outside the 3 × 2 size in the header"));
    expect(bad("1 1 5\n")).toThrow(new MtxError("the header announces 2 entries but the file holds 1"));
    expect(bad("1 1 5\n1 2 1\n2 2 2\n")).toThrow(new MtxError("the header announces 2 entries but the file holds more"));
    expect(bad("1 1 2.5\n")).toThrow(new MtxError('the header says "integer" but entry 1 has value 2.5'));
    expect(bad("1 x 5\n")).toThrow(new MtxError('entry 1 is not "row column value": "1 x 5"'));
    expect(bad("1 1 5 6\n")).toThrow(new MtxError('entry 1 has extra fields: "1 1 5 6"'));
  });
});

function chunksOf(entries: [number, number, number][], nCells: number, chunkCells: number): RowChunk[] {
  const out: RowChunk[] = [];
  const c = new StreamChunker(nCells, 10, chunkCells, false, (chunk) => out.push(chunk));
  for (const [gene, cell, v] of entries) c.put(gene, cell, v);
  c.end();
  return out;
}

const rowsOf = (c: RowChunk) =>
  Array.from({ length: c.end - c.start }, (_, r) =>
    Array.from({ length: c.indptr[r + 1] - c.indptr[r] }, (_, k) => `${c.genes[c.indptr[r] + k]}=${c.values[c.indptr[r] + k]}`).join(","),
  );

describe("stream chunker", () => {
  it("cuts chunks as cells go by, empty cells and chunks included, with statistics", () => {
    // (gene, cell, value), 1-based: cells 1, 2, 5 and 9 of 10; the last chunk is empty.
    const chunks = chunksOf(
      [
        [1, 1, 3],
        [4, 1, 1],
        [2, 2, 70_000],
        [3, 5, 2],
        [5, 9, 4],
      ],
      10,
      3,
    );
    expect(chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 10],
    ]);
    expect(chunks.map(rowsOf)).toEqual([["0=3,3=1", "1=70000", ""], ["", "2=2", ""], ["", "", "4=4"], [""]]);
    expect(chunks[0].stats).toMatchObject({ min: 1, max: 70_000, sum: 70_004, count: 3, fitsUint16: false });
    expect(chunks[1].stats).toMatchObject({ count: 1, fitsUint16: true });
    expect(chunks.every((c) => c.genesSorted)).toBe(true);
  });

  it("sorts a chunk whose cells come back, and flags unsorted genes", () => {
    const chunks = chunksOf(
      [
        [3, 2, 1],
        [1, 1, 2],
        [2, 2, 3],
      ],
      2,
      5,
    );
    expect(chunks.map(rowsOf)).toEqual([["0=2", "2=1,1=3"]]);
    expect(chunks[0].genesSorted).toBe(false);
  });

  it("throws UnsortedInput for an entry of a chunk already cut", () => {
    expect(() =>
      chunksOf(
        [
          [1, 4, 1],
          [1, 1, 1],
        ],
        6,
        3,
      ),
    ).toThrow(UnsortedInput);
  });
});

async function collect(gen: AsyncIterable<RowChunk>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of gen) rowsOf(c).forEach((r, i) => out.push(`${c.start + i}:${r}`));
  return out;
}

describe("MTX reading off the main thread", () => {
  const cfg = (over: Partial<MtxReadConfig> = {}): MtxReadConfig => ({
    file: path.join(PBMC_DIR, "matrix.mtx.gz"),
    nCells: 160,
    nGenes: 8674,
    chunkCells: 48,
    transposed: false,
    mode: "stream",
    scratchDir: dir,
    ...over,
  });

  it("gives in the worker exactly the chunks it gives inline, in both modes", async () => {
    expect(existsSync(convertWorkerPath())).toBe(true);
    const inline = await collect(mtxRowChunks(cfg()));
    expect(await collect(mtxChunksInWorker(convertWorkerPath(), cfg()))).toEqual(inline);
    expect(await collect(mtxChunksInWorker(convertWorkerPath(), cfg({ mode: "buckets" })))).toEqual(inline);
    const pbmc = loadPbmc();
    expect(inline).toEqual(pbmc.cells.map((c, i) => `${i}:${c.genes.map((g, k) => `${g}=${c.values[k]}`).join(",")}`));
  });

  it("passes the parser's errors and UnsortedInput back as they were thrown, and ends the worker when left early", async () => {
    const file = path.join(dir, "bad.mtx.gz");
    await fs.writeFile(file, gzipSync("%%MatrixMarket matrix coordinate integer general\n3 2 2\n1 1 5\n4 2 1\n"));
    await expect(collect(mtxChunksInWorker(convertWorkerPath(), cfg({ file, nCells: 2, nGenes: 3 })))).rejects.toThrow(
      new MtxError("entry 2 is at (4, 2), outside the 3 × 2 size in the header"),
    );
    const unsorted = path.join(dir, "unsorted.mtx.gz");
    await fs.writeFile(unsorted, gzipSync("%%MatrixMarket matrix coordinate integer general\n3 4 2\n1 4 5\n1 1 1\n"));
    await expect(collect(mtxChunksInWorker(convertWorkerPath(), cfg({ file: unsorted, nCells: 4, nGenes: 3, chunkCells: 2 })))).rejects.toBeInstanceOf(
      UnsortedInput,
    );
    for await (const chunk of mtxChunksInWorker(convertWorkerPath(), cfg())) {
      expect(chunk.start).toBe(0);
      break;
    }
  });
});

describe("decompression into reused buffers", () => {
  async function all(blocks: AsyncIterable<Buffer>): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const b of blocks) parts.push(Buffer.from(b));
    return Buffer.concat(parts);
  }

  it("reads multi-member gzip (as synth writes it) and plain files, here and in the inflater thread", async () => {
    const text = Buffer.from(Array.from({ length: 300_000 }, (_, i) => `${i} ${i * 7} ${i % 13}\n`).join(""));
    const multi = path.join(dir, "multi.gz");
    await fs.writeFile(multi, Buffer.concat([gzipSync(text.subarray(0, 1_000_003)), gzipSync(text.subarray(1_000_003)), gzipSync(Buffer.alloc(0))]));
    const plain = path.join(dir, "plain.txt");
    await fs.writeFile(plain, text);
    expect((await all(bytesOf(multi))).equals(text)).toBe(true);
    expect((await all(bytesOf(plain))).equals(text)).toBe(true);
    expect((await all(inflatedBlocks(convertWorkerPath(), multi))).equals(text)).toBe(true);
    const inflater = new Inflater(multi);
    const out = Buffer.alloc(1000);
    expect(inflater.fill(out)).toBe(1000);
    expect(out.equals(text.subarray(0, 1000))).toBe(true);
    inflater.close();
  });

  it("names a gzip file cut short, here and in the inflater thread", async () => {
    const cut = path.join(dir, "cut.gz");
    const whole = gzipSync(Buffer.alloc(5_000_000, "a"));
    await fs.writeFile(cut, whole.subarray(0, whole.length - 100));
    await expect(all(bytesOf(cut))).rejects.toThrow(/cut\.gz cannot be read: unexpected end of file \(a gzip file cut short\?\)/);
    await expect(all(inflatedBlocks(convertWorkerPath(), cut))).rejects.toThrow(/cut\.gz cannot be read: unexpected end of file/);
  });
});

describe("MTX conversion", () => {
  async function mtxFolder(name: string, lines: string[], header: string): Promise<string> {
    const pbmc = loadPbmc();
    const d = path.join(dir, name);
    await fs.mkdir(d);
    await fs.writeFile(path.join(d, "matrix.mtx.gz"), gzipSync(`${header}\n${lines.join("\n")}\n`));
    await fs.writeFile(path.join(d, "features.tsv"), pbmc.genes.map((g) => `${g}\t${g}\tGene Expression`).join("\n") + "\n");
    await fs.writeFile(path.join(d, "barcodes.tsv"), pbmc.barcodes.join("\n") + "\n");
    return d;
  }

  it("starts over through the bucket spill when the file is written gene by gene, with the same result", async () => {
    const pbmc = loadPbmc();
    const entries = pbmc.cells.flatMap((c, i) => c.genes.map((g, k) => ({ g, i, v: c.values[k] })));
    entries.sort((a, b) => a.g - b.g || a.i - b.i);
    const d = await mtxFolder(
      "gene-major",
      entries.map((e) => `${e.g + 1} ${e.i + 1} ${e.v}`),
      `%%MatrixMarket matrix coordinate integer general\n${pbmc.nGenes} ${pbmc.nCells} ${entries.length}`,
    );
    const out = path.join(dir, "gene-major.slaf");
    const summary = await convertFile(d, out, { chunkCells: 32 });
    const data = await readBack(out);
    expect(triples(data)).toEqual(pbmc.cells.flatMap((c, i) => c.genes.map((g, k) => `${i}:${g}=${c.values[k]}`)));
    expect(data.fragments).toBe(5);
    expect(summary.warnings).toEqual([]);
    expect(summary.notes).toContain("matrix.mtx.gz is not stored cell by cell, so it was read whole into a disk spill first (slower than a 10x file)");
  });

  it("refuses a gzip file cut short, naming it, and leaves nothing behind", async () => {
    const d = path.join(dir, "cut");
    await fs.mkdir(d);
    for (const f of ["features.tsv", "barcodes.tsv"]) await fs.copyFile(path.join(PBMC_DIR, f), path.join(d, f));
    const whole = readFileSync(path.join(PBMC_DIR, "matrix.mtx.gz"));
    await fs.writeFile(path.join(d, "matrix.mtx.gz"), whole.subarray(0, Math.floor(whole.length / 2)));
    const out = path.join(dir, "cut.slaf");
    const e = await convertFile(d, out).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppFailure);
    expect((e as AppFailure).appError).toMatchObject({
      code: "CONVERT_INPUT_INVALID",
      message: expect.stringMatching(/matrix\.mtx\.gz cannot be read: .*cut short/),
    });
    expect((await fs.readdir(dir)).filter((n) => n.includes("cut.slaf"))).toEqual([]);
  });

  it("cancels while the worker reads, leaving nothing behind", async () => {
    const out = path.join(dir, "cancel.slaf");
    const controller = new AbortController();
    const e = await convertFile(PBMC_DIR, out, {
      chunkCells: 16,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done >= 32) controller.abort(new AppFailure("CONVERT_CANCELLED", "Cancelled by the user"));
      },
    }).catch((x: unknown) => x);
    expect((e as AppFailure).appError.code).toBe("CONVERT_CANCELLED");
    expect((await fs.readdir(dir)).filter((n) => n.includes("cancel.slaf"))).toEqual([]);
  });
});
