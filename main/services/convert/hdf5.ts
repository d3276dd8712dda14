/** h5wasm access for the HDF5 readers: opening with clear errors, typed slices, strings, attributes. */
import { isAppFailure } from "../../../shared/result";
import fs from "node:fs/promises";
import h5wasm, { Module as h5Module } from "h5wasm/node";
import { fail } from "../errors";

export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;
export type NumericArray =
  Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

export { h5wasm };

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Finds the superblock (HDF5 puts its signature at 0, 512, 1024, 2048...) and the file length it records,
 * so a file cut short is reported as such (libhdf5 may open it and fail later on some object).
 */
async function superblock(file: string, size: number): Promise<{ eof: number } | null> {
  const fh = await fs.open(file, "r");
  try {
    const buf = Buffer.alloc(64);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      await fh.read(buf, 0, 64, at);
      if (!buf.subarray(0, 8).equals(SIGNATURE)) {
        if (at > 1 << 20) break;
        continue;
      }
      const version = buf[8];
      const offsetSize = version <= 1 ? buf[13] : buf[9];
      const read = (pos: number) => (offsetSize === 8 ? Number(buf.readBigUInt64LE(pos)) : offsetSize === 4 ? buf.readUInt32LE(pos) : NaN);
      // v0/v1: base, free-space, EOF addresses after 16 (v0) or 20 (v1) bytes; v2/v3: base, extension, EOF after 12.
      const first = version === 0 ? 24 : version === 1 ? 28 : 12;
      const base = read(first);
      const eof = read(first + 2 * offsetSize);
      return { eof: Number.isFinite(base + eof) ? base + eof : 0 };
    }
    return null;
  } finally {
    await fh.close();
  }
}

/** libhdf5 prints a diagnostic stack to stderr on every failed call; we report our own message instead. */
export function quietHdf5<T>(body: () => T): T {
  const write = process.stderr.write;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : "";
    if (/^(HDF5-DIAG|\s+#\d{3}:|\s+(major|minor):)/.test(text)) return true;
    return (write as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return body();
  } finally {
    process.stderr.write = write;
  }
}

export async function openHdf5(file: string, what: string): Promise<H5File> {
  let size: number;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) fail("CONVERT_INPUT_INVALID", `${file} is not a file`, { path: file });
    size = stat.size;
  } catch (e) {
    if (isAppFailure(e)) throw e;
    fail("CONVERT_INPUT_INVALID", `No file at ${file}`, { path: file });
  }
  const sb = await superblock(file, size);
  if (!sb) fail("CONVERT_INPUT_INVALID", `${file} is not an HDF5 file (no HDF5 signature), so it cannot be read as ${what}`, { path: file });
  if (sb.eof > size) {
    fail(
      "CONVERT_INPUT_INVALID",
      `${file} is truncated or damaged: HDF5 records ${sb.eof.toLocaleString("en-US")} bytes but the file has ${size.toLocaleString("en-US")}`,
      { path: file },
    );
  }
  await h5wasm.ready;
  try {
    return quietHdf5(() => new h5wasm.File(file, "r"));
  } catch {
    fail("CONVERT_INPUT_INVALID", `${file} is a truncated or damaged HDF5 file (${size.toLocaleString("en-US")} bytes); it cannot be opened`, { path: file });
  }
}

export function getEntity(parent: H5Group, name: string) {
  return quietHdf5(() => parent.get(name));
}

export function isGroup(x: unknown): x is H5Group {
  return x instanceof h5wasm.Group;
}
export function isDataset(x: unknown): x is H5Dataset {
  return x instanceof h5wasm.Dataset;
}

export function attr(entity: { attrs: Record<string, { value: unknown }> }, name: string): unknown {
  return quietHdf5(() => (name in entity.attrs ? entity.attrs[name].value : undefined));
}

export function attrString(entity: { attrs: Record<string, { value: unknown }> }, name: string): string | undefined {
  const v = attr(entity, name);
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8");
  return undefined;
}

export function attrStrings(entity: { attrs: Record<string, { value: unknown }> }, name: string): string[] {
  const v = attr(entity, name);
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.map(String);
  return [];
}

export function numbers(v: unknown): number[] {
  if (v === undefined || v === null) return [];
  if (typeof v === "number" || typeof v === "bigint") return [Number(v)];
  if (ArrayBuffer.isView(v) || Array.isArray(v)) return Array.from(v as ArrayLike<number | bigint>, Number);
  return [];
}

/** A read that fails inside libhdf5 (damaged chunk, file cut short) becomes a message naming the dataset. */
export function readSlice(ds: H5Dataset, ranges: [number, number][], file: string): NumericArray {
  try {
    const out = quietHdf5(() => ds.slice(ranges));
    if (!ArrayBuffer.isView(out)) fail("CONVERT_INPUT_INVALID", `${file}: ${ds.path} does not hold numbers`, { path: file });
    return out as NumericArray;
  } catch (e) {
    if (isAppFailure(e)) throw e;
    fail("CONVERT_INPUT_INVALID", `${file}: cannot read ${ds.path} (the file is truncated or damaged)`, { path: file });
  }
}

interface H5Module {
  _malloc(n: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  get_dataset_data(fileId: bigint, path: string, count: bigint[] | null, offset: bigint[] | null, strides: bigint[] | null, ptr: bigint): number;
}

/** A buffer in the wasm heap reused by every readInto (grown when needed, never given back: the heap does not shrink). */
let scratch = { ptr: 0, bytes: 0 };

type Numeric1D = Exclude<NumericArray, BigInt64Array | BigUint64Array>;

function viewType(meta: { type: number; size: number; signed: boolean }): (new (b: ArrayBufferLike, o: number, n: number) => NumericArray) | null {
  if (meta.type === 1) return meta.size === 4 ? Float32Array : meta.size === 8 ? Float64Array : null;
  if (meta.type !== 0 && meta.type !== 8) return null;
  const table: Record<
    number,
    [new (b: ArrayBufferLike, o: number, n: number) => NumericArray, new (b: ArrayBufferLike, o: number, n: number) => NumericArray]
  > = {
    1: [Int8Array, Uint8Array],
    2: [Int16Array, Uint16Array],
    4: [Int32Array, Uint32Array],
    8: [BigInt64Array, BigUint64Array],
  };
  const pair = table[meta.size];
  return pair ? pair[meta.signed ? 0 : 1] : null;
}

/**
 * Entries [start, end) of a 1-D numeric dataset copied into `out` at `at`, straight from libhdf5's buffer
 * (Dataset.slice would copy them into a new array first: tens of MB per chunk of cells, allocated and freed
 * again and again, which fragments the process heap). 64-bit integers are converted to numbers.
 */
export function readInto(ds: H5Dataset, start: number, end: number, out: Numeric1D | Float64Array, at: number, file: string): void {
  const n = end - start;
  if (n <= 0) return;
  const M = h5Module as unknown as H5Module;
  const meta = quietHdf5(() => ds.metadata) as { type: number; size: number; signed: boolean };
  const View = viewType(meta);
  if (!View) fail("CONVERT_INPUT_INVALID", `${file}: ${ds.path} does not hold numbers`, { path: file });
  const bytes = n * meta.size;
  if (scratch.bytes < bytes) {
    if (scratch.ptr) M._free(scratch.ptr);
    const size = Math.max(bytes, 1 << 20);
    const ptr = M._malloc(size);
    if (!ptr) fail("INTERNAL", `Cannot allocate ${size} bytes in the HDF5 reader's memory`);
    scratch = { ptr, bytes: size };
  }
  try {
    quietHdf5(() => M.get_dataset_data((ds as unknown as { file_id: bigint }).file_id, ds.path, [BigInt(n)], [BigInt(start)], [1n], BigInt(scratch.ptr)));
  } catch {
    fail("CONVERT_INPUT_INVALID", `${file}: cannot read ${ds.path} (the file is truncated or damaged)`, { path: file });
  }
  const view = new View(M.HEAPU8.buffer, scratch.ptr, n);
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[at + i] = Number(view[i]);
  } else out.set(view, at);
}

export function readStrings(ds: H5Dataset, file: string, start = 0, end?: number): string[] {
  const n = ds.shape?.[0] ?? 0;
  let out: unknown;
  try {
    out = quietHdf5(() => ds.slice([[start, end ?? n]]));
  } catch {
    fail("CONVERT_INPUT_INVALID", `${file}: cannot read ${ds.path} (the file is truncated or damaged)`, { path: file });
  }
  if (!Array.isArray(out)) fail("CONVERT_INPUT_INVALID", `${file}: ${ds.path} should hold strings`, { path: file });
  return out.map((s) => (typeof s === "string" ? s : s instanceof Uint8Array ? Buffer.from(s).toString("utf8") : String(s)));
}

export function closeHdf5(f: H5File): void {
  quietHdf5(() => f.close());
}
