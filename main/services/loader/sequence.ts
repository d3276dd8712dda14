/**
 * Per cell, the gene sequence a tokenizer truncates: which genes, in which order, with which values. One instance
 * per tokenizer; its scratch buffers grow to the largest cell seen and are reused, so the hot loop allocates nothing.
 */
import { CANONICAL_GENE_LIMIT, GENE_OFFSET, invalid, type GeneIds, type StoredValues, type TokenizerOptions } from "./tokens";

const MAX_TOKEN = 2 ** 31 - 1;
/** Whole-number keys below this are exact in float32 and sort by their own value. */
const INTEGER_KEYS = 2 ** 24;
/** Whole stored counts below this have their log1p computed once per cell. */
const LOG1P_MEMO = 1024;

/**
 * Turns the 256-bucket histogram at `h` into bucket starts; false when one bucket holds all `m` (the pass would
 * move nothing).
 */
function spread(hist: Uint32Array, h: number, m: number): boolean {
  for (let b = 0; b < 256; b++) {
    const c = hist[h + b];
    if (c === m) return false;
    if (c !== 0) break;
  }
  let acc = 0;
  for (let b = 0; b < 256; b++) {
    const c = hist[h + b];
    hist[h + b] = acc;
    acc += c;
  }
  return true;
}

export class CellSequencer {
  /** After build(): the first `length` entries are the sequence. */
  genes = new Int32Array(0);
  /** Stored values (slafdb-0.5.2) or values after normalize_total/log1p (canonical). */
  values = new Float64Array(0);
  length = 0;
  nOutOfVocab = 0;

  private sorted32 = new Float32Array(0);
  // Canonical, by position in the cell after filtering: gene, value, ranking key (float32 for the radix, float64
  // for exact ties), and the order the radix sort produces.
  private inGenes = new Int32Array(0);
  private inValues = new Float64Array(0);
  private keys32 = new Float32Array(0);
  private keyBits = new Uint32Array(this.keys32.buffer);
  private keys64 = new Float64Array(0);
  private keyDigits = new Uint32Array(0);
  /** Canonical with normalize_total/log1p: the stored values (ranked first, see buildCanonical). */
  private stored = new Float64Array(0);
  /** Canonical with log1p, by small whole count: the preprocessed value, and the cell it was computed for. */
  private readonly log1pOf = new Float64Array(LOG1P_MEMO);
  private readonly log1pCell = new Int32Array(LOG1P_MEMO);
  private log1pCells = 0;
  private order = new Uint32Array(0);
  private orderTmp = new Uint32Array(0);
  /** Radix histograms: 4 key digits, then 3 gene-id digits, 256 buckets each. */
  private readonly hist = new Uint32Array(7 * 256);
  /** Canonical, indexed by gene id: the last cell that listed the gene (catches duplicates). */
  private stamp = new Int32Array(0);
  private cellStamp = 0;

  constructor(private readonly o: TokenizerOptions) {}

  build(cellId: number, genes: GeneIds, values: StoredValues, start: number, end: number): number {
    this.ensure(end - start);
    return this.o.mode === "canonical" ? this.buildCanonical(cellId, genes, values, start, end) : this.buildSlafdb(cellId, genes, values, start, end);
  }

  /**
   * SLAF 0.5.2's window: keep genes whose dense descending rank of value is ≤ max_genes, i.e. whose value is at
   * least the max_genes-th largest distinct value (on counts that is nearly always every gene), in storage order.
   */
  private buildSlafdb(cellId: number, genes: GeneIds, values: StoredValues, start: number, end: number): number {
    const n = end - start;
    const { maxGenes, vocabSize } = this.o;
    let threshold = -Infinity;
    if (n > maxGenes) {
      const s = this.sorted32.subarray(0, n);
      for (let j = 0; j < n; j++) s[j] = values[start + j];
      s.sort();
      let distinct = 0;
      let prev = NaN;
      for (let k = n - 1; k >= 0; k--) {
        if (s[k] !== prev) {
          prev = s[k];
          if (++distinct === maxGenes) {
            threshold = prev;
            break;
          }
        }
      }
    }
    let m = 0;
    let oov = 0;
    for (let j = start; j < end; j++) {
      const g = genes[j];
      const v = values[j];
      if (g < 0 || g > MAX_TOKEN - GENE_OFFSET) throw invalid(`Cell ${cellId} has gene_integer_id ${g}, outside [0, ${MAX_TOKEN - GENE_OFFSET}]`);
      if (v !== v) throw invalid(`Cell ${cellId} has a NaN value for gene_integer_id ${g}`);
      if (g + GENE_OFFSET >= vocabSize) oov++;
      if (v >= threshold) {
        this.genes[m] = g;
        this.values[m] = v;
        m++;
      }
    }
    this.nOutOfVocab = oov;
    this.length = m;
    return m;
  }

  /**
   * Canonical: drop genes beyond the vocabulary, non-positive values and (with medians) genes without a positive
   * median; rank by value (or value / median) descending, ties by ascending gene id. See rankOrder for the sort.
   * Duplicate genes are looked for only once the genes stop ascending (ascending genes cannot repeat).
   * normalize_total and log1p are monotonic within a cell, so whole stored counts are first ranked by their own
   * value (one or two radix passes instead of four); that order stands only if the preprocessed keys confirm it.
   */
  private buildCanonical(cellId: number, genes: GeneIds, values: StoredValues, start: number, end: number): number {
    const { vocabSize, normalizeTotal, log1p, geneMedians } = this.o;
    let sum = 0;
    if (normalizeTotal !== undefined) for (let j = start; j < end; j++) sum += values[j];
    const scale = normalizeTotal !== undefined ? (sum > 0 ? normalizeTotal / sum : 0) : 1;
    const inGenes = this.inGenes;
    const inValues = this.inValues;
    const keys = this.keys64;
    const stored = this.stored;
    const cell = log1p ? this.nextLog1pCell() : 0;
    let m = 0;
    let oov = 0;
    let ascending = true;
    let stamp = 0;
    let prev = -1;
    let integral = true;
    let maxKey = 0;
    let storedIntegral = true;
    let maxStored = 0;
    for (let j = start; j < end; j++) {
      const g = genes[j];
      const v = values[j];
      if (g < 0 || g >= CANONICAL_GENE_LIMIT) throw invalid(`Cell ${cellId} has gene_integer_id ${g}, outside [0, ${CANONICAL_GENE_LIMIT - 1}]`);
      if (v !== v) throw invalid(`Cell ${cellId} has a NaN value for gene_integer_id ${g}`);
      if (ascending && g <= prev) {
        ascending = false;
        stamp = this.stampGenes(genes, start, j);
      }
      prev = g;
      if (!ascending) {
        if (g >= this.stamp.length) this.growGenes(g + 1);
        if (this.stamp[g] === stamp) throw invalid(`Cell ${cellId} lists gene_integer_id ${g} twice`);
        this.stamp[g] = stamp;
      }
      if (g + GENE_OFFSET >= vocabSize) {
        oov++;
        continue;
      }
      if (!(v > 0)) continue;
      let x = v * scale;
      if (log1p) {
        // Counts repeat within a cell (a PBMC cell: ~850 genes, under 70 distinct counts): one log1p per count.
        if (v < LOG1P_MEMO && v === Math.floor(v)) {
          if (this.log1pCell[v] !== cell) {
            this.log1pCell[v] = cell;
            this.log1pOf[v] = Math.log1p(x);
          }
          x = this.log1pOf[v];
        } else x = Math.log1p(x);
      }
      if (!(x > 0)) continue;
      let key = x;
      if (geneMedians) {
        const med = g < geneMedians.length ? geneMedians[g] : 0;
        if (!(med > 0)) continue;
        key = x / med;
      }
      if (integral && key !== Math.floor(key)) integral = false;
      if (key > maxKey) maxKey = key;
      if (storedIntegral && v !== Math.floor(v)) storedIntegral = false;
      if (v > maxStored) maxStored = v;
      inGenes[m] = g;
      inValues[m] = x;
      keys[m] = key;
      stored[m] = v;
      m++;
    }
    let order: Uint32Array | null = null;
    if ((normalizeTotal !== undefined || log1p) && !geneMedians && !integral && storedIntegral && maxStored < INTEGER_KEYS) {
      order = this.rankOrder(m, ascending, maxStored, stored);
      if (!this.keysAgree(order, m)) order = null;
    }
    order ??= this.rankOrder(m, ascending, integral && maxKey < INTEGER_KEYS ? maxKey : -1, keys);
    for (let k = 0; k < m; k++) {
      const p = order[k];
      this.genes[k] = inGenes[p];
      this.values[k] = inValues[p];
    }
    this.nOutOfVocab = oov;
    this.length = m;
    return m;
  }

  /**
   * Positions 0…m−1 by key descending, ties by gene id ascending: a stable LSD radix sort with 8-bit digits, by gene
   * id first (only when the genes did not arrive ascending), then by the key. The key's digits are the key itself
   * when every key is a whole number below 2^24 (counts: one or two passes), else its float32 bits (positive floats'
   * bits order like the floats); runs whose float32 keys tie but whose float64 keys differ (possible only after
   * normalization or medians) are then re-sorted exactly. Digits every key shares are skipped. `maxKey`: the
   * largest key when every key is a whole number below 2^24, else −1.
   */
  private rankOrder(m: number, ascending: boolean, maxKey: number, keys: Float64Array): Uint32Array {
    let from = this.order;
    let to = this.orderTmp;
    if (m < 2) {
      if (m === 1) from[0] = 0;
      return from;
    }
    // Digits are inverted, so that ascending digits mean descending keys.
    const digits = this.keyDigits;
    const integerKeys = maxKey >= 0;
    if (integerKeys) for (let k = 0; k < m; k++) digits[k] = ~keys[k];
    else {
      const f32 = this.keys32;
      for (let k = 0; k < m; k++) f32[k] = keys[k];
      const bits = this.keyBits;
      for (let k = 0; k < m; k++) digits[k] = ~bits[k];
    }
    // Key bytes above the largest whole-number key's are 0xff everywhere.
    const keyBytes = !integerKeys ? 4 : maxKey < 0x100 ? 1 : maxKey < 0x10000 ? 2 : 3;
    const hist = this.hist;
    hist.fill(0, 0, keyBytes * 256);
    for (let k = 0; k < m; k++) {
      const d = digits[k];
      hist[d & 0xff]++;
      if (keyBytes > 1) {
        hist[256 + ((d >>> 8) & 0xff)]++;
        if (keyBytes > 2) {
          hist[512 + ((d >>> 16) & 0xff)]++;
          if (keyBytes > 3) hist[768 + (d >>> 24)]++;
        }
      }
    }
    const genes = this.inGenes;
    if (!ascending) {
      hist.fill(0, 1024);
      for (let k = 0; k < m; k++) {
        const g = genes[k];
        hist[1024 + (g & 0xff)]++;
        hist[1280 + ((g >>> 8) & 0xff)]++;
        hist[1536 + (g >>> 16)]++;
      }
    }
    let identity = true;
    for (let pass = ascending ? 3 : 0; pass < 3 + keyBytes; pass++) {
      // Passes 0–2: gene id bytes; then the key's bytes, least significant first.
      const h = pass < 3 ? 1024 + pass * 256 : (pass - 3) * 256;
      if (!spread(hist, h, m)) continue;
      const shift = (pass < 3 ? pass : pass - 3) * 8;
      const src = pass < 3 ? genes : digits;
      if (identity) for (let k = 0; k < m; k++) to[hist[h + ((src[k] >>> shift) & 0xff)]++] = k;
      else {
        for (let k = 0; k < m; k++) {
          const p = from[k];
          to[hist[h + ((src[p] >>> shift) & 0xff)]++] = p;
        }
      }
      identity = false;
      const t = from;
      from = to;
      to = t;
    }
    if (identity) for (let k = 0; k < m; k++) from[k] = k;
    if (!integerKeys && (this.o.normalizeTotal !== undefined || this.o.log1p || this.o.geneMedians)) this.exactTies(from, m);
    return from;
  }

  /** True when the preprocessed keys fall along `order` as the stored values do (equal with them, else strictly). */
  private keysAgree(order: Uint32Array, m: number): boolean {
    const keys = this.keys64;
    const stored = this.stored;
    for (let k = 1; k < m; k++) {
      const a = order[k - 1];
      const b = order[k];
      if (stored[a] === stored[b] ? keys[a] !== keys[b] : !(keys[a] > keys[b])) return false;
    }
    return true;
  }

  /** Re-sorts runs of equal float32 keys by their float64 keys (descending), ties by gene id. */
  private exactTies(order: Uint32Array, m: number): void {
    const digits = this.keyDigits;
    const keys = this.keys64;
    const genes = this.inGenes;
    let k = 0;
    while (k < m) {
      const d = digits[order[k]];
      let e = k + 1;
      let differ = false;
      while (e < m && digits[order[e]] === d) {
        if (keys[order[e]] !== keys[order[k]]) differ = true;
        e++;
      }
      if (differ) order.subarray(k, e).sort((p, q) => keys[q] - keys[p] || genes[p] - genes[q]);
      k = e;
    }
  }

  /** A fresh stamp, set on genes[from, to) (ascending so far, hence distinct). */
  private stampGenes(genes: GeneIds, from: number, to: number): number {
    const stamp = this.nextStamp();
    for (let j = from; j < to; j++) {
      const g = genes[j];
      if (g >= this.stamp.length) this.growGenes(g + 1);
      this.stamp[g] = stamp;
    }
    return stamp;
  }

  private nextLog1pCell(): number {
    if (this.log1pCells === MAX_TOKEN) {
      this.log1pCell.fill(0);
      this.log1pCells = 0;
    }
    return ++this.log1pCells;
  }

  private nextStamp(): number {
    if (this.cellStamp === MAX_TOKEN) {
      this.stamp.fill(0);
      this.cellStamp = 0;
    }
    return ++this.cellStamp;
  }

  private ensure(n: number): void {
    if (n <= this.genes.length) return;
    const cap = Math.max(n, this.genes.length * 2, 256);
    this.genes = new Int32Array(cap);
    this.values = new Float64Array(cap);
    this.sorted32 = new Float32Array(cap);
    this.inGenes = new Int32Array(cap);
    this.inValues = new Float64Array(cap);
    this.keys32 = new Float32Array(cap);
    this.keyBits = new Uint32Array(this.keys32.buffer);
    this.keys64 = new Float64Array(cap);
    this.keyDigits = new Uint32Array(cap);
    this.stored = new Float64Array(cap);
    this.order = new Uint32Array(cap);
    this.orderTmp = new Uint32Array(cap);
  }

  private growGenes(n: number): void {
    const cap = Math.min(CANONICAL_GENE_LIMIT, Math.max(n, this.stamp.length * 2, 1024));
    const stamp = new Int32Array(cap);
    stamp.set(this.stamp);
    this.stamp = stamp;
  }
}
