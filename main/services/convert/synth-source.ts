/**
 * Large realistic datasets for scale tests and benchmarks: N cells resampled from a small real template
 * (PBMC 3k). Cell i copies the metadata of a template cell picked at random and draws, for each gene that
 * template cell expresses, a Poisson count with the template value as mean (zeros dropped). Chunks are
 * generated on demand from a seed per chunk, so any chunk can be regenerated identically.
 */
import { fail } from "../errors";
import { gatherColumn } from "./column-gather";
import { prepareFrame } from "./metadata-tables";
import type { Embedding, Frame, RowChunk, Source } from "./source";

const MAX_TEMPLATE_CELLS = 200_000;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(lambda: number, expNegLambda: number, rand: () => number): number {
  if (lambda < 30) {
    let k = 0;
    let p = rand();
    while (p > expNegLambda) {
      k++;
      p *= rand();
    }
    return k;
  }
  const u = Math.max(rand(), 1e-300);
  const gauss = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss));
}

interface Template {
  nCells: number;
  indptr: Float64Array;
  genes: Uint32Array;
  lambda: Float64Array;
  expNeg: Float64Array;
}

async function loadTemplate(source: Source, scratchDir: string): Promise<Template> {
  if (source.nCells > MAX_TEMPLATE_CELLS)
    fail("CONVERT_INPUT_INVALID", `${source.path} has ${source.nCells} cells; a synth template may have at most ${MAX_TEMPLATE_CELLS}`, { path: source.path });
  const indptr = new Float64Array(source.nCells + 1);
  const genes: number[] = [];
  const lambda: number[] = [];
  for await (const chunk of source.rows("X", { chunkCells: source.nCells || 1, scratchDir })) {
    for (let r = 0; r < chunk.end - chunk.start; r++) {
      for (let i = chunk.indptr[r]; i < chunk.indptr[r + 1]; i++) {
        const v = Number(chunk.values[i]);
        if (!(v > 0)) continue;
        genes.push(chunk.genes[i]);
        lambda.push(v);
      }
      indptr[chunk.start + r + 1] = genes.length;
    }
  }
  const l = Float64Array.from(lambda);
  return { nCells: source.nCells, indptr, genes: Uint32Array.from(genes), lambda: l, expNeg: l.map((x) => Math.exp(-x)) };
}

export async function synthSource(template: Source, nCells: number, opts: { seed?: number; scratchDir: string }): Promise<Source> {
  const seed = opts.seed ?? 42;
  const t = await loadTemplate(template, opts.scratchDir);
  if (t.nCells === 0) fail("CONVERT_INPUT_INVALID", `${template.path} has no cells to resample`, { path: template.path });
  const rand = mulberry32(seed);
  const picks = Uint32Array.from({ length: nCells }, () => Math.floor(rand() * t.nCells));
  const obs = prepareFrame(template.obs, "cell", "obs");
  const barcodes = obs.ids;
  const obsFrame: Frame = {
    length: nCells,
    readIndex: () => Array.from(picks, (p, i) => `${barcodes.get(p)}_${i}`),
    columns: obs.columns.map((c) => {
      const template = c.column.read(0, t.nCells);
      return { name: c.name, read: (s: number, e: number) => gatherColumn(template, picks.subarray(s, e)) };
    }),
  };
  const obsm: Embedding[] = template.obsm.map((e) => {
    const all = e.read(0, t.nCells);
    return {
      name: e.name,
      dim: e.dim,
      read: (start, end) => {
        const out = new Float32Array((end - start) * e.dim);
        const jitter = mulberry32(seed ^ (start + 1));
        for (let i = start; i < end; i++) {
          for (let d = 0; d < e.dim; d++) out[(i - start) * e.dim + d] = all[picks[i] * e.dim + d] + (jitter() - 0.5) * 0.1;
        }
        return out;
      },
    };
  });
  const vars = prepareFrame(template.var, "gene", "var");
  const varFrame: Frame = {
    length: template.nGenes,
    readIndex: () => vars.ids.toArray(),
    columns: vars.columns.map((c) => ({ name: c.name, read: c.column.read })),
  };

  async function* rows(chunkCells: number, signal?: AbortSignal): AsyncGenerator<RowChunk> {
    for (let start = 0; start < nCells; start += chunkCells) {
      if (signal?.aborted) throw signal.reason;
      const end = Math.min(nCells, start + chunkCells);
      const draw = mulberry32((seed * 2654435761) ^ start);
      let cap = 0;
      for (let i = start; i < end; i++) cap += t.indptr[picks[i] + 1] - t.indptr[picks[i]];
      const genes = new Uint16Array(cap);
      const wideGenes = template.nGenes > 65535 ? new Uint32Array(cap) : null;
      const values = new Float32Array(cap);
      const indptr = new Uint32Array(end - start + 1);
      let n = 0;
      for (let i = start; i < end; i++) {
        const p = picks[i];
        for (let k = t.indptr[p]; k < t.indptr[p + 1]; k++) {
          const v = poisson(t.lambda[k], t.expNeg[k], draw);
          if (v === 0) continue;
          if (wideGenes) wideGenes[n] = t.genes[k];
          else genes[n] = t.genes[k];
          values[n++] = v;
        }
        indptr[i - start + 1] = n;
      }
      yield { start, end, indptr, genes: (wideGenes ?? genes).subarray(0, n), values: values.subarray(0, n) };
    }
  }

  return {
    format: template.format,
    path: template.path,
    nCells,
    nGenes: template.nGenes,
    obs: obsFrame,
    var: varFrame,
    obsm,
    varm: template.varm,
    layers: [],
    // Poisson draws: whole numbers, written as float32.
    matrices: [{ name: "X", path: "X", nCells, nGenes: template.nGenes, dtype: "float32", integer: true, nnz: null }],
    nnz: null,
    warnings: [],
    rows(matrix, o) {
      if (matrix !== "X") fail("INTERNAL", "synthetic data has no layers");
      return rows(o.chunkCells, o.signal);
    },
    close: () => template.close(),
  };
}
