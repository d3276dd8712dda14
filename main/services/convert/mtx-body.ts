/**
 * The body of a MatrixMarket coordinate file (after the header), parsed from bytes into typed arrays as fast
 * as the bytes allow: one tight loop for the common line `row col int\n`; anything else on a line (real
 * values, tabs, CR, comments, blank lines, errors) goes through the careful path, which checks the same things
 * and words its errors the same way as MtxParser.
 */
import { MtxError, type MtxHeader } from "./mtx-parse";

const NL = 10;

/** Where parsed entries go, one call each, row and column 1-based as in the file. */
export interface EntrySink {
  put(row: number, col: number, value: number): void;
}

function lineText(buf: Buffer, s: number, e: number): string {
  return buf.toString("latin1", s, Math.min(e, s + 80)).replace(/\r$/, "");
}

export class MtxBody {
  /** Entries parsed so far (checked against the header at the end). */
  entries = 0;
  private carry: Buffer | null = null;
  private readonly pattern: boolean;
  private readonly integer: boolean;

  constructor(
    readonly header: MtxHeader,
    private readonly sink: EntrySink,
  ) {
    this.pattern = header.field === "pattern";
    this.integer = header.field === "integer";
  }

  /** Parses the complete lines of `chunk`; a partial last line waits for the next chunk. */
  feed(chunk: Buffer): void {
    let buf = chunk;
    let from = 0;
    if (this.carry) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return;
      }
      const line = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = null;
      this.parse(line, 0, line.length);
      buf = chunk;
      from = nl + 1;
    }
    const last = buf.lastIndexOf(NL);
    if (last < from) {
      this.carry = Buffer.from(buf.subarray(from));
      return;
    }
    this.parse(buf, from, last + 1);
    if (last + 1 < buf.length) this.carry = Buffer.from(buf.subarray(last + 1));
  }

  /** The last line when the file does not end with a newline; then checks the entry count. */
  end(): void {
    if (this.carry && this.carry.length > 0) {
      const line = Buffer.concat([this.carry, Buffer.from("\n")]);
      this.carry = null;
      this.parse(line, 0, line.length);
    }
    if (this.entries !== this.header.nnz) {
      throw new MtxError(`the header announces ${this.header.nnz.toLocaleString("en-US")} entries but the file holds ${this.entries.toLocaleString("en-US")}`);
    }
  }

  /** Lines [from, to) of `buf`; `to` is just past a newline. */
  private parse(buf: Buffer, from: number, to: number): void {
    const { nRows, nCols, nnz } = this.header;
    const sink = this.sink;
    let entries = this.entries;
    let i = from;
    const fast = this.integer;
    while (i < to) {
      const start = i;
      if (fast) {
        // row SP col SP digits NL, nothing else: the common case, checked as it goes.
        let c = buf[i] - 48;
        if (c >= 0 && c <= 9) {
          let row = c;
          while ((c = buf[++i] - 48) >= 0 && c <= 9) row = row * 10 + c;
          if (c === -16) {
            let col = buf[++i] - 48;
            if (col >= 0 && col <= 9) {
              while ((c = buf[++i] - 48) >= 0 && c <= 9) col = col * 10 + c;
              if (c === -16) {
                let v = buf[++i] - 48;
                if (v >= 0 && v <= 9) {
                  while ((c = buf[++i] - 48) >= 0 && c <= 9) v = v * 10 + c;
                  if (c === NL - 48) {
                    i++;
                    if (++entries > nnz) throw new MtxError(`the header announces ${nnz.toLocaleString("en-US")} entries but the file holds more`);
                    if (row < 1 || row > nRows || col < 1 || col > nCols) {
                      throw new MtxError(`entry ${entries} is at (${row}, ${col}), outside the ${nRows} × ${nCols} size in the header`);
                    }
                    sink.put(row, col, v);
                    continue;
                  }
                }
              }
            }
          }
        }
      }
      // Anything else: this line the careful way.
      i = start;
      const e = buf.indexOf(NL, i);
      this.entries = entries;
      this.careful(buf, i, e);
      entries = this.entries;
      i = e + 1;
    }
    this.entries = entries;
  }

  /** One line [s, e) (without its newline): blank, comment, or an entry with any whitespace and value. */
  private careful(buf: Buffer, s: number, e: number): void {
    const text = buf.toString("latin1", s, e).trim();
    if (text === "" || text.startsWith("%")) return;
    const parts = text.split(/[ \t]+/);
    const number = /^\d+$/;
    if (parts.length < 2 || !number.test(parts[0]) || !number.test(parts[1])) {
      throw new MtxError(`entry ${this.entries + 1} is not "row column value": "${lineText(buf, s, e)}"`);
    }
    let value = 1;
    if (!this.pattern) {
      if (parts.length < 3) throw new MtxError(`entry ${this.entries + 1} has no value`);
      value = Number(parts[2]);
      if (Number.isNaN(value) && !/^[+-]?nan$/i.test(parts[2])) throw new MtxError(`entry ${this.entries + 1} has value "${parts[2]}", not a number`);
      if (this.integer && !Number.isInteger(value)) throw new MtxError(`the header says "integer" but entry ${this.entries + 1} has value ${parts[2]}`);
    }
    if (parts.length > (this.pattern ? 2 : 3)) throw new MtxError(`entry ${this.entries + 1} has extra fields: "${lineText(buf, s, e)}"`);
    const row = Number(parts[0]);
    const col = Number(parts[1]);
    const nnz = this.header.nnz;
    if (++this.entries > nnz) throw new MtxError(`the header announces ${nnz.toLocaleString("en-US")} entries but the file holds more`);
    if (row < 1 || row > this.header.nRows || col < 1 || col > this.header.nCols) {
      throw new MtxError(`entry ${this.entries} is at (${row}, ${col}), outside the ${this.header.nRows} × ${this.header.nCols} size in the header`);
    }
    this.sink.put(row, col, value);
  }
}
