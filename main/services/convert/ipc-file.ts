/**
 * Arrow IPC file bytes for one record batch of non-null fixed-width columns, laid out before the data exists:
 * the caller fills the column views in place and hands the buffer to Lance. apache-arrow's writer would
 * assemble the same bytes from separate arrays, costing a fresh allocation and a full copy per chunk (a large
 * share of conversion time); here buffers come from a small pool and are reused. Same layout as
 * apache-arrow's RecordBatchFileWriter: magic, record batch message, body, EOS, footer, footer size, magic.
 */
import { createRequire } from "node:module";
import type { arrow } from "../arrow";

const require = createRequire(import.meta.url);
const { Message, RecordBatch: BatchHeader, FieldNode, BufferRegion } = require("apache-arrow/ipc/metadata/message");
const { Footer, FileBlock } = require("apache-arrow/ipc/metadata/file");
const { MetadataVersion } = require("apache-arrow/enum");

type Schema = InstanceType<typeof arrow.Schema>;

const MAGIC = Buffer.from("ARROW1");
const align8 = (n: number) => (n + 7) & ~7;

export interface IpcChunk {
  bytes: Buffer;
  /** Byte offset of each column's values inside `bytes` (8-aligned). */
  offsets: number[];
  release(): void;
}

export class IpcChunkPool {
  private free: Buffer[] = [];

  constructor(
    private readonly schema: Schema,
    private readonly byteWidths: number[],
  ) {}

  take(length: number): IpcChunk {
    const sizes = this.byteWidths.map((w) => length * w);
    const regions: unknown[] = [];
    const offsets: number[] = [];
    let body = 0;
    for (const size of sizes) {
      regions.push(new BufferRegion(body, 0), new BufferRegion(body, size));
      offsets.push(body);
      body += align8(size);
    }
    const header = new BatchHeader(
      length,
      sizes.map(() => new FieldNode(length, 0)),
      regions,
    );
    const meta: Uint8Array = Message.encode(Message.from(header, body));
    const metaSize = align8(meta.byteLength + 8);
    const bodyStart = 8 + metaSize;
    const footer: Uint8Array = Footer.encode(new Footer(this.schema, MetadataVersion.V5, [new FileBlock(metaSize, body, 8)], []));
    const total = bodyStart + body + 8 + footer.byteLength + 4 + MAGIC.length;

    // One buffer is filled while the previous one is being written; free buffers too small are dropped.
    const index = this.free.findIndex((b) => b.length >= total);
    const buf = index >= 0 ? this.free.splice(index, 1)[0] : Buffer.allocUnsafeSlow(Math.ceil(total * 1.1));
    if (index < 0) this.free = [];
    buf.fill(0, 0, bodyStart);
    MAGIC.copy(buf, 0);
    buf.writeInt32LE(-1, 8);
    buf.writeInt32LE(metaSize - 8, 12);
    buf.set(meta, 16);
    for (let k = 0; k < sizes.length; k++) {
      const end = bodyStart + offsets[k] + sizes[k];
      buf.fill(0, end, bodyStart + offsets[k] + align8(sizes[k]));
    }
    let at = bodyStart + body;
    buf.writeInt32LE(-1, at);
    buf.writeInt32LE(0, at + 4);
    at += 8;
    buf.set(footer, at);
    at += footer.byteLength;
    buf.writeInt32LE(footer.byteLength, at);
    MAGIC.copy(buf, at + 4);
    let released = false;
    return {
      bytes: buf.subarray(0, total),
      offsets: offsets.map((o) => bodyStart + o),
      release: () => {
        if (released) return;
        released = true;
        if (this.free.length < 2) this.free.push(buf);
      },
    };
  }
}
