/**
 * Per cell, the gene sequence a tokenizer truncates: which genes, in which order, with which values. One instance
 * per tokenizer; its scratch buffers grow to the largest cell seen and are reused, so the hot loop allocates nothing.
 */
import { CANONICAL_GENE_LIMIT, GENE_OFFSET, invalid, type GeneIds, type StoredValues, type TokenizerOptions } from "./tokens";

const MAX_TOKEN = 2 ** 31 - 1;
const INV_LIMIT = 1 / CANONICAL_GENE_LIMIT;

export class CellSequencer {
  /** After build(): the first `length` entries are the sequence. */
  genes = new Int32Array(0);
  /** Stored values (slafdb-0.5.2) or values after normalize_total/log1p (canonical). */
  values = new Float64Array(0);
  length = 0;
  nOutOfVocab = 0;

  private sorted32 = new Float32Array(0);
  private keys32 = new Float32Array(0);
  private keyBits = new Uint32Array(this.keys32.buffer);
  private packed = new Float64Array(0);
  // Canonical, indexed by gene id: the cell's value and ranking key, and a stamp that catches duplicate genes.
  private valByGene = new Float64Array(0);
  private keyByGene = new Float64Array(0);
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
   * median; rank by value (or value / median) descending, ties by ascending gene id. The sort is native: each gene
   * is one float64, (descending float32 key ordinal) · 2^21 + gene id; runs whose float32 keys tie but whose float64
   * keys differ (possible only after normalization or medians) are re-sorted exactly.
   */
  private buildCanonical(cellId: number, genes: GeneIds, values: StoredValues, start: number, end: number): number {
    const { vocabSize, normalizeTotal, log1p, geneMedians } = this.o;
    const stamp = this.nextStamp();
    let sum = 0;
    if (normalizeTotal !== undefined) for (let j = start; j < end; j++) sum += values[j];
    const scale = normalizeTotal !== undefined ? (sum > 0 ? normalizeTotal / sum : 0) : 1;
    let m = 0;
    let oov = 0;
    for (let j = start; j < end; j++) {
      const g = genes[j];
      const v = values[j];
      if (g < 0 || g >= CANONICAL_GENE_LIMIT) throw invalid(`Cell ${cellId} has gene_integer_id ${g}, outside [0, ${CANONICAL_GENE_LIMIT - 1}]`);
      if (v !== v) throw invalid(`Cell ${cellId} has a NaN value for gene_integer_id ${g}`);
      if (g >= this.stamp.length) this.growGenes(g + 1);
      if (this.stamp[g] === stamp) throw invalid(`Cell ${cellId} lists gene_integer_id ${g} twice`);
      this.stamp[g] = stamp;
      if (g + GENE_OFFSET >= vocabSize) {
        oov++;
        continue;
      }
      if (!(v > 0)) continue;
      let x = v * scale;
      if (log1p) x = Math.log1p(x);
      if (!(x > 0)) continue;
      let key = x;
      if (geneMedians) {
        const med = g < geneMedians.length ? geneMedians[g] : 0;
        if (!(med > 0)) continue;
        key = x / med;
      }
      this.valByGene[g] = x;
      this.keyByGene[g] = key;
      this.keys32[m] = key;
      this.genes[m] = g;
      m++;
    }
    const packed = this.packed.subarray(0, m);
    for (let k = 0; k < m; k++) packed[k] = (0x7fffffff - this.keyBits[k]) * CANONICAL_GENE_LIMIT + this.genes[k];
    packed.sort();
    // x − floor(x / 2^21) · 2^21 is exact (powers of two) and much cheaper than the float64 `%`.
    for (let k = 0; k < m; k++) this.genes[k] = packed[k] - Math.floor(packed[k] * INV_LIMIT) * CANONICAL_GENE_LIMIT;
    if (normalizeTotal !== undefined || log1p || geneMedians) this.exactTies(packed, m);
    for (let k = 0; k < m; k++) this.values[k] = this.valByGene[this.genes[k]];
    this.nOutOfVocab = oov;
    this.length = m;
    return m;
  }

  private exactTies(packed: Float64Array, m: number): void {
    let k = 0;
    while (k < m) {
      const ord = Math.floor(packed[k] * INV_LIMIT);
      let e = k + 1;
      let differ = false;
      while (e < m && Math.floor(packed[e] * INV_LIMIT) === ord) {
        if (this.keyByGene[this.genes[e]] !== this.keyByGene[this.genes[k]]) differ = true;
        e++;
      }
      if (differ) this.genes.subarray(k, e).sort((a, b) => this.keyByGene[b] - this.keyByGene[a] || a - b);
      k = e;
    }
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
    this.keys32 = new Float32Array(cap);
    this.keyBits = new Uint32Array(this.keys32.buffer);
    this.packed = new Float64Array(cap);
  }

  private growGenes(n: number): void {
    const cap = Math.min(CANONICAL_GENE_LIMIT, Math.max(n, this.stamp.length * 2, 1024));
    const stamp = new Int32Array(cap);
    stamp.set(this.stamp);
    this.stamp = stamp;
    const val = new Float64Array(cap);
    val.set(this.valByGene);
    this.valByGene = val;
    const key = new Float64Array(cap);
    key.set(this.keyByGene);
    this.keyByGene = key;
  }
}
