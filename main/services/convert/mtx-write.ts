/**
 * Writes a source as a Cell Ranger v3 MTX folder (matrix.mtx.gz genes × cells in barcode order as Cell Ranger
 * writes it, features.tsv.gz, barcodes.tsv.gz): how `synth` makes large MTX inputs for the conversion
 * benchmark. The header needs the entry count, so the matrix is generated twice (counted, then written); the
 * text is compressed in blocks on the zlib thread pool and the gzip members are written one after another
 * (a multi-member gzip file, which every gzip reader reads as one stream).
 */
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gzip as gzipCb } from "node:zlib";
import type { RowsOptions, Source } from "./source";

const gzip = promisify(gzipCb);
const BLOCK = 8 * 1024 * 1024;

/** ASCII digits of a non-negative integer into `buf` at `at`; returns the new position. */
function putInt(buf: Buffer, at: number, n: number): number {
  if (n < 10) {
    buf[at] = 48 + n;
    return at + 1;
  }
  let digits = 0;
  for (let x = n; x > 0; x = Math.floor(x / 10)) digits++;
  for (let i = at + digits - 1, x = n; i >= at; i--, x = Math.floor(x / 10)) buf[i] = 48 + (x % 10);
  return at + digits;
}

export async function writeMtxDir(
  source: Source,
  dir: string,
  opts: RowsOptions & { level?: number; onCells?: (done: number) => void },
): Promise<{ nnz: number }> {
  await fs.mkdir(dir, { recursive: true });
  let nnz = 0;
  for await (const chunk of source.rows("X", opts)) nnz += chunk.indptr[chunk.indptr.length - 1];
  const level = opts.level ?? 1;
  const out = createWriteStream(path.join(dir, "matrix.mtx.gz"));
  const write = (b: Buffer) => new Promise<void>((resolve, reject) => out.write(b, (e) => (e ? reject(e) : resolve())));
  const pending: Promise<Buffer>[] = [];
  const flushOne = async () => write(await pending.shift()!);
  try {
    const header = `%%MatrixMarket matrix coordinate integer general\n%metadata_json: {"software_version": "slaf-workbench synth", "format_version": 2}\n${source.nGenes} ${source.nCells} ${nnz}\n`;
    pending.push(gzip(Buffer.from(header), { level }));
    let buf = Buffer.allocUnsafe(BLOCK + 64);
    let at = 0;
    for await (const chunk of source.rows("X", opts)) {
      for (let r = 0; r < chunk.end - chunk.start; r++) {
        const cell = chunk.start + r + 1;
        for (let i = chunk.indptr[r]; i < chunk.indptr[r + 1]; i++) {
          at = putInt(buf, at, chunk.genes[i] + 1);
          buf[at++] = 32;
          at = putInt(buf, at, cell);
          buf[at++] = 32;
          at = putInt(buf, at, Number(chunk.values[i]));
          buf[at++] = 10;
          if (at >= BLOCK) {
            pending.push(gzip(buf.subarray(0, at), { level }));
            buf = Buffer.allocUnsafe(BLOCK + 64);
            at = 0;
            // Two blocks compress at once (the zlib pool) while this thread formats the next.
            while (pending.length > 2) await flushOne();
          }
        }
      }
      opts.onCells?.(chunk.end);
    }
    if (at > 0) pending.push(gzip(buf.subarray(0, at), { level }));
    while (pending.length) await flushOne();
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
  const names = source.var.readIndex();
  const ids = source.var.columns.find((c) => c.name === "gene_ids")?.read(0, source.nGenes).values as (string | null)[] | undefined;
  const features = names.map((n, g) => `${ids?.[g] ?? n}\t${n}\tGene Expression`).join("\n") + "\n";
  await fs.writeFile(path.join(dir, "features.tsv.gz"), await gzip(Buffer.from(features)));
  await fs.writeFile(path.join(dir, "barcodes.tsv.gz"), await gzip(Buffer.from(source.obs.readIndex().join("\n") + "\n")));
  return { nnz };
}
