/**
 * The MatrixMarket header: the banner (`%%MatrixMarket matrix coordinate <field> general`), comment lines and
 * the size line (`rows columns entries`), read from the first decompressed bytes. The body is mtx-body.ts.
 */
export interface MtxHeader {
  field: "integer" | "real" | "pattern";
  nRows: number;
  nCols: number;
  nnz: number;
}

export class MtxError extends Error {}

const NL = 10;

export class MtxParser {
  header: MtxHeader | null = null;
  /** The bytes after the header in the chunk that completed it. */
  body: Buffer | null = null;
  private banner: string | null = null;
  private rest: Buffer | null = null;

  /** Feeds the next bytes; returns false once the header is known (see `body`). */
  feed(chunk: Buffer): boolean {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    let i = 0;
    while (this.header === null) {
      const nl = buf.indexOf(NL, i);
      if (nl < 0) {
        // A copy: the caller may reuse its buffer.
        this.rest = Buffer.from(buf.subarray(i));
        return true;
      }
      this.headerLine(buf.toString("latin1", i, nl).trim());
      i = nl + 1;
    }
    this.body = buf.subarray(i);
    return false;
  }

  /** At the end of the input: the header, or what is missing from it. */
  end(): MtxHeader {
    if (this.rest && this.rest.length > 0 && this.header === null) {
      this.headerLine(this.rest.toString("latin1").trim());
      this.rest = null;
    }
    if (this.banner === null) throw new MtxError("the file is empty; expected a %%MatrixMarket header");
    if (this.header === null) throw new MtxError("the size line (rows columns entries) is missing");
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
}
