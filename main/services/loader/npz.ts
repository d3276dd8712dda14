/**
 * NumPy's `.npz` written by hand: a zip archive (stored, no compression, as `np.savez`) holding one `<name>.npy`
 * per array in the NPY 1.0 format: the magic "\x93NUMPY", version 1.0, a little-endian u16 header length, then
 * an ASCII Python dict literal `{'descr': '<i8', 'fortran_order': False, 'shape': (32, 2048), }` padded with
 * spaces and ended by "\n" so the data starts at a multiple of 64 bytes, then the C-order little-endian data.
 */

export type NpyDtype = "<i8" | "<i4" | "<u4" | "<u2" | "<f4" | "|b1";

export interface NpyArray {
  name: string;
  dtype: NpyDtype;
  shape: number[];
  /** Converted to `dtype` on write; its length must be the product of `shape`. */
  data: ArrayLike<number>;
}

const ITEM_BYTES: Record<NpyDtype, number> = { "<i8": 8, "<i4": 4, "<u4": 4, "<u2": 2, "<f4": 4, "|b1": 1 };

function npyHeader(dtype: NpyDtype, shape: number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${dims}, }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = dict + " ".repeat(total - unpadded) + "\n";
  const out = new Uint8Array(10 + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY 1.0
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** One `.npy` file's bytes. */
export function npyBytes(a: NpyArray): Uint8Array {
  const count = a.shape.reduce((p, d) => p * d, 1);
  if (a.data.length !== count) throw new Error(`Array ${a.name} has ${a.data.length} values for shape (${a.shape.join(", ")})`);
  const header = npyHeader(a.dtype, a.shape);
  const out = new Uint8Array(header.length + count * ITEM_BYTES[a.dtype]);
  out.set(header);
  const view = new DataView(out.buffer, header.length);
  const d = a.data;
  switch (a.dtype) {
    case "<i8":
      for (let i = 0; i < count; i++) {
        const v = d[i];
        view.setUint32(i * 8, v >>> 0, true);
        view.setInt32(i * 8 + 4, Math.floor(v / 2 ** 32), true);
      }
      break;
    case "<i4":
      for (let i = 0; i < count; i++) view.setInt32(i * 4, d[i], true);
      break;
    case "<u4":
      for (let i = 0; i < count; i++) view.setUint32(i * 4, d[i], true);
      break;
    case "<u2":
      for (let i = 0; i < count; i++) view.setUint16(i * 2, d[i], true);
      break;
    case "<f4":
      for (let i = 0; i < count; i++) view.setFloat32(i * 4, d[i], true);
      break;
    case "|b1":
      for (let i = 0; i < count; i++) out[header.length + i] = d[i] ? 1 : 0;
      break;
  }
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 as zip (and zlib) define it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// 1980-01-01 00:00, the zip epoch: the same arrays always give the same bytes.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** A zip archive of `files` with every entry stored (method 0). Without zip64, so under 4 GiB. */
export function storedZip(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const enc = new TextEncoder();
  const entries = files.map((f) => ({ name: enc.encode(f.name), data: f.data, crc: crc32(f.data), offset: 0 }));
  const localSize = entries.reduce((s, e) => s + 30 + e.name.length + e.data.length, 0);
  const centralSize = entries.reduce((s, e) => s + 46 + e.name.length, 0);
  const total = localSize + centralSize + 22;
  if (total > 0xffffffff) throw new Error("The archive would exceed 4 GiB");
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  let p = 0;
  for (const e of entries) {
    e.offset = p;
    v.setUint32(p, 0x04034b50, true);
    v.setUint16(p + 4, 20, true); // version needed: 2.0
    v.setUint16(p + 6, 0, true); // flags
    v.setUint16(p + 8, 0, true); // stored
    v.setUint16(p + 10, DOS_TIME, true);
    v.setUint16(p + 12, DOS_DATE, true);
    v.setUint32(p + 14, e.crc, true);
    v.setUint32(p + 18, e.data.length, true);
    v.setUint32(p + 22, e.data.length, true);
    v.setUint16(p + 26, e.name.length, true);
    v.setUint16(p + 28, 0, true);
    out.set(e.name, p + 30);
    out.set(e.data, p + 30 + e.name.length);
    p += 30 + e.name.length + e.data.length;
  }
  const central = p;
  for (const e of entries) {
    v.setUint32(p, 0x02014b50, true);
    v.setUint16(p + 4, 20, true); // made by
    v.setUint16(p + 6, 20, true); // needed
    v.setUint16(p + 8, 0, true);
    v.setUint16(p + 10, 0, true);
    v.setUint16(p + 12, DOS_TIME, true);
    v.setUint16(p + 14, DOS_DATE, true);
    v.setUint32(p + 16, e.crc, true);
    v.setUint32(p + 20, e.data.length, true);
    v.setUint32(p + 24, e.data.length, true);
    v.setUint16(p + 28, e.name.length, true);
    // extra, comment, disk number, internal attributes: 0
    v.setUint32(p + 38, 0, true); // external attributes
    v.setUint32(p + 42, e.offset, true);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
  }
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, entries.length, true);
  v.setUint16(p + 10, entries.length, true);
  v.setUint32(p + 12, p - central, true);
  v.setUint32(p + 16, central, true);
  return out;
}

/** `np.savez`: arrays keyed by name, each stored as `<name>.npy`. */
export function npzBytes(arrays: NpyArray[]): Uint8Array {
  return storedZip(arrays.map((a) => ({ name: `${a.name}.npy`, data: npyBytes(a) })));
}
