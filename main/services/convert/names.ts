/** Column and row names as SLAF stores them. */

/** Lance forbids `.` in field names; SLAF replaces it with `_` (SLAF issue #23). */
export function sanitizeColumn(name: string): string {
  return name.replaceAll(".", "_");
}

/**
 * anndata's `make_unique`: later repeats of a name get `-1`, `-2`... (skipping names already taken).
 * Returns how many names were changed.
 */
export function makeUnique(names: string[]): { names: string[]; changed: number; example: string | null } {
  const taken = new Set(names);
  if (taken.size === names.length) return { names, changed: 0, example: null };
  const seen = new Set<string>();
  const next = new Map<string, number>();
  const out = names.slice();
  let changed = 0;
  let example: string | null = null;
  for (let i = 0; i < out.length; i++) {
    const name = out[i];
    if (!seen.has(name)) {
      seen.add(name);
      continue;
    }
    let k = next.get(name) ?? 1;
    while (taken.has(`${name}-${k}`)) k++;
    next.set(name, k + 1);
    out[i] = `${name}-${k}`;
    taken.add(out[i]);
    seen.add(out[i]);
    changed++;
    example ??= `"${name}" → "${out[i]}"`;
  }
  return { names: out, changed, example };
}

/**
 * Many names kept as one UTF-8 buffer and offsets (a million cell ids take ~25 MB this way instead of ~60 MB
 * of JS strings), with slices that become Arrow Utf8 data without copying each string again.
 */
export class CompactStrings {
  private constructor(
    readonly bytes: Buffer,
    /** length + 1 offsets into `bytes`. */
    readonly offsets: Int32Array,
  ) {}

  static from(names: readonly string[]): CompactStrings {
    const offsets = new Int32Array(names.length + 1);
    let total = 0;
    for (let i = 0; i < names.length; i++) offsets[i + 1] = total += Buffer.byteLength(names[i]);
    const bytes = Buffer.allocUnsafe(total);
    for (let i = 0; i < names.length; i++) bytes.write(names[i], offsets[i]);
    return new CompactStrings(bytes, offsets);
  }

  get length(): number {
    return this.offsets.length - 1;
  }

  get(i: number): string {
    return this.bytes.toString("utf8", this.offsets[i], this.offsets[i + 1]);
  }

  toArray(): string[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }

  /** Names [s, e) as Arrow Utf8 parts: offsets from 0 and the bytes they point into. */
  utf8Slice(s: number, e: number): { valueOffsets: Int32Array; data: Uint8Array } {
    const base = this.offsets[s];
    const valueOffsets = this.offsets.slice(s, e + 1);
    for (let i = 0; i < valueOffsets.length; i++) valueOffsets[i] -= base;
    return { valueOffsets, data: this.bytes.subarray(base, this.offsets[e]) };
  }
}
