/**
 * An independent reader of `.npz` files for tests: walks the zip's central directory, checks each entry against
 * its local header and node:zlib's CRC-32, and parses NPY 1.0/2.0 headers the way numpy does (a Python dict
 * literal), returning plain number (or boolean) arrays.
 */
import { crc32 } from "node:zlib";

export interface ParsedNpy {
  dtype: string;
  fortranOrder: boolean;
  shape: number[];
  values: number[] | boolean[];
}

function readNpy(bytes: Uint8Array): ParsedNpy {
  const magic = Buffer.from(bytes.subarray(0, 6));
  if (!magic.equals(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]))) throw new Error("not an NPY file");
  const major = bytes[6];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? v.getUint16(8, true) : v.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString("latin1");
  if ((start + headerLen) % 16 !== 0) throw new Error(`data is not aligned: starts at ${start + headerLen}`);
  if (!header.endsWith("\n")) throw new Error("header does not end with a newline");
  const m = /^\{'descr': '([^']+)', 'fortran_order': (True|False), 'shape': \(([\d, ]*)\), \}\s*$/.exec(header);
  if (!m) throw new Error(`unexpected NPY header: ${header}`);
  const shape = m[3]
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new DataView(bytes.buffer, bytes.byteOffset + start + headerLen, bytes.byteLength - start - headerLen);
  const values: number[] = [];
  const size = { "<i8": 8, "<i4": 4, "<u4": 4, "<u2": 2, "<f4": 4, "|b1": 1 }[m[1]];
  if (!size) throw new Error(`dtype ${m[1]}`);
  if (data.byteLength !== n * size) throw new Error(`${data.byteLength} data bytes for ${n} items of ${size}`);
  for (let i = 0; i < n; i++) {
    if (m[1] === "<i8") values.push(Number(data.getBigInt64(i * 8, true)));
    else if (m[1] === "<i4") values.push(data.getInt32(i * 4, true));
    else if (m[1] === "<u4") values.push(data.getUint32(i * 4, true));
    else if (m[1] === "<u2") values.push(data.getUint16(i * 2, true));
    else if (m[1] === "<f4") values.push(data.getFloat32(i * 4, true));
    else values.push(data.getUint8(i));
  }
  return { dtype: m[1], fortranOrder: m[2] === "True", shape, values: m[1] === "|b1" ? values.map((x) => x === 1) : values };
}

/** name (without .npy) → array. */
export function readNpz(file: Uint8Array): Map<string, ParsedNpy> {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let eocd = file.length - 22;
  while (eocd >= 0 && v.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("no end of central directory");
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const out = new Map<string, ParsedNpy>();
  for (let i = 0; i < count; i++) {
    if (v.getUint32(p, true) !== 0x02014b50) throw new Error("bad central directory entry");
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    const size = v.getUint32(p + 20, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = Buffer.from(file.subarray(p + 46, p + 46 + nameLen)).toString("utf8");
    if (method !== 0) throw new Error(`${name} is compressed (method ${method})`);
    if (v.getUint32(local, true) !== 0x04034b50) throw new Error(`${name}: bad local header`);
    if (v.getUint32(local + 14, true) !== crc || v.getUint32(local + 18, true) !== size) throw new Error(`${name}: local header disagrees`);
    const dataStart = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    const data = file.subarray(dataStart, dataStart + size);
    if (crc32(data) >>> 0 !== crc) throw new Error(`${name}: CRC mismatch`);
    if (!name.endsWith(".npy")) throw new Error(`${name} is not an .npy entry`);
    out.set(name.slice(0, -4), readNpy(data));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
