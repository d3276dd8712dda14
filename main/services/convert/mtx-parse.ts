/**
 * Streaming MatrixMarket coordinate parser working on bytes (no per-line strings): feed it the decompressed
 * stream chunk by chunk; it checks the header against the entries as it goes.
 */
export interface MtxHeader {
  field: "integer" | "real" | "pattern";
  nRows: number;
  nCols: number;
  nnz: number;
}

export type EntrySink = (row: number, col: number, value: number) => void;

export class MtxError extends Error {}

const NL = 10;

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

export class MtxParser {
  header: MtxHeader | null = null;
  entries = 0;
  private banner: string | null = null;
  private rest: Buffer | null = null;

  constructor(private readonly sink: EntrySink | null) {}

  /** Returns false once the header is known when there is no sink (header-only reads). */
  feed(chunk: Buffer): boolean {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let i = 0;
    while (this.header === null) {
      const nl = buf.indexOf(NL, i);
      if (nl < 0) {
        this.rest = buf.subarray(i);
        return true;
      }
      this.headerLine(buf.toString("latin1", i, nl).trim());
      i = nl + 1;
    }
    if (!this.sink) return false;
    const last = buf.lastIndexOf(NL);
    if (last < i) {
      this.rest = buf.subarray(i);
      return true;
    }
    this.entryBytes(buf, i, last + 1);
    if (last + 1 < buf.length) this.rest = Buffer.from(buf.subarray(last + 1));
    return true;
  }

  end(): MtxHeader {
    if (this.rest && this.rest.length > 0) {
      if (this.header === null) this.headerLine(this.rest.toString("latin1").trim());
      else if (this.sink) this.entryBytes(Buffer.concat([this.rest, Buffer.from("\n")]), 0, this.rest.length + 1);
      this.rest = null;
    }
    if (this.banner === null) throw new MtxError("the file is empty; expected a %%MatrixMarket header");
    if (this.header === null) throw new MtxError("the size line (rows columns entries) is missing");
    if (this.sink && this.entries !== this.header.nnz) {
      throw new MtxError(`the header announces ${this.header.nnz.toLocaleString("en-US")} entries but the file holds ${this.entries.toLocaleString("en-US")}`);
    }
    return this.header;
  }

  private headerLine(line: string): void {
    if (this.banner === null) {
      const m = /^%%MatrixMarket\s+matrix\s+(\w+)\s+(\w+)\s+(\w+)/i.exec(line);
      if (!m) throw new MtxError(`the first line is not a MatrixMarket header: "${line.slice(0, 80)}"`);
      const [format, field, symmetry] = [m[1], m[2], m[3]].map((s) => s.toLowerCase());
      if (format !== "coordinate") throw new MtxError(`"${format}" MatrixMarket files are not supported; expected "coordinate"`);
      if (symmetry !== "general") throw new MtxError(`"${symmetry}" MatrixMarket files are not supported; expected "general"`);
      if (!["integer", "real", "double", "pattern"].includes(field)) throw new MtxError(`MatrixMarket field "${field}" is not supported`);
      this.banner = field === "double" ? "real" : field;
      return;
    }
    if (line === "" || line.startsWith("%")) return;
    const parts = line.split(/\s+/).map(Number);
    if (parts.length !== 3 || parts.some((x) => !Number.isInteger(x) || x < 0))
      throw new MtxError(`the size line should be "rows columns entries", got "${line.slice(0, 80)}"`);
    this.header = { field: this.banner as MtxHeader["field"], nRows: parts[0], nCols: parts[1], nnz: parts[2] };
  }

  private entryBytes(buf: Buffer, from: number, to: number): void {
    const { nRows, nCols, nnz, field } = this.header!;
    const pattern = field === "pattern";
    const integer = field === "integer";
    const sink = this.sink!;
    let i = from;
    while (i < to) {
      let c = buf[i];
      if (c === NL || isBlank(c)) {
        i++;
        continue;
      }
      if (c === 37) {
        i = buf.indexOf(NL, i) + 1;
        continue;
      }
      let row = 0;
      let digits = 0;
      while ((c = buf[i]) >= 48 && c <= 57) {
        row = row * 10 + (c - 48);
        i++;
        digits++;
      }
      while (isBlank(buf[i])) i++;
      let col = 0;
      let colDigits = 0;
      while ((c = buf[i]) >= 48 && c <= 57) {
        col = col * 10 + (c - 48);
        i++;
        colDigits++;
      }
      if (digits === 0 || colDigits === 0) throw new MtxError(`entry ${this.entries + 1} is not "row column value": "${lineAt(buf, i)}"`);
      let value = 1;
      if (!pattern) {
        while (isBlank(buf[i])) i++;
        const s = i;
        value = 0;
        while ((c = buf[i]) >= 48 && c <= 57) {
          value = value * 10 + (c - 48);
          i++;
        }
        c = buf[i];
        if (c !== NL && !isBlank(c)) {
          while (i < to && buf[i] !== NL && !isBlank(buf[i])) i++;
          value = Number(buf.toString("latin1", s, i));
          if (Number.isNaN(value) && !/^[+-]?nan$/i.test(buf.toString("latin1", s, i)))
            throw new MtxError(`entry ${this.entries + 1} has value "${buf.toString("latin1", s, i)}", not a number`);
          if (integer && !Number.isInteger(value))
            throw new MtxError(`the header says "integer" but entry ${this.entries + 1} has value ${buf.toString("latin1", s, i)}`);
        } else if (i === s) throw new MtxError(`entry ${this.entries + 1} has no value`);
      }
      while (isBlank(buf[i])) i++;
      if (buf[i] !== NL) throw new MtxError(`entry ${this.entries + 1} has extra fields: "${lineAt(buf, i)}"`);
      this.entries++;
      if (this.entries > nnz) throw new MtxError(`the header announces ${nnz.toLocaleString("en-US")} entries but the file holds more`);
      if (row < 1 || row > nRows || col < 1 || col > nCols) {
        throw new MtxError(`entry ${this.entries} is at (${row}, ${col}), outside the ${nRows} × ${nCols} size in the header`);
      }
      sink(row - 1, col - 1, value);
    }
  }
}

function lineAt(buf: Buffer, i: number): string {
  const s = buf.lastIndexOf(NL, i - 1) + 1;
  const e = buf.indexOf(NL, i);
  return buf.toString("latin1", s, e < 0 ? Math.min(buf.length, s + 80) : Math.min(e, s + 80));
}
