/**
 * What the scatter draws for a colouring: palette indices per cell, the palette, the draw order (grey under
 * colour, high values on top), which cells are shown, and the scale for the legend or colour bar. Pure.
 */
import { BLEND_STEPS, binValues, blendIndex, blendPalette, categoryPalette, rampPalette, RAMP_STEPS } from "./explore-palette";
import { orderByCode, shownIndices } from "./explore-data";

export const PLAIN_COLOR = "#3b6ea8";

export interface ColourScale {
  kind: "ramp";
  /** What the values are (column name, gene symbol and transform). */
  label: string;
  lo: number;
  hi: number;
  /** The data's own extent, when the scale is clipped to quantiles. */
  min: number;
  max: number;
  clipped: boolean;
  /** "no value" entries in grey: non-expressing cells or nulls. */
  empty: { label: string; cells: number } | null;
}

export interface BlendScale {
  kind: "blend";
  a: string;
  b: string;
}

export interface ScatterView {
  key: string;
  title: string;
  codes: Float32Array | null;
  palette: string[];
  order: number[] | null;
  shown: number[] | null;
  scale: ColourScale | BlendScale | null;
}

/*
 * Per-cell arrays are remembered per source array and parameters, so a view computed again (a category hidden,
 * another store field read) hands the scatter the same arrays: it redraws only what really changed.
 */
const memo = new WeakMap<object, Map<string, unknown>>();
const pairMemo = new WeakMap<object, WeakMap<object, Map<string, unknown>>>();

function remember<T>(source: object, key: string, make: () => T, second?: object): T {
  let byKey: Map<string, unknown> | undefined;
  if (second) {
    let inner = pairMemo.get(source);
    if (!inner) pairMemo.set(source, (inner = new WeakMap()));
    byKey = inner.get(second);
    if (!byKey) inner.set(second, (byKey = new Map()));
  } else {
    byKey = memo.get(source);
    if (!byKey) memo.set(source, (byKey = new Map()));
  }
  if (!byKey.has(key)) {
    if (byKey.size >= 8) byKey.clear();
    byKey.set(key, make());
  }
  return byKey.get(key) as T;
}

const PLAIN_PALETTE = [PLAIN_COLOR];
const CATEGORY_PALETTES = new Map<number, string[]>();
let RAMP: string[] | null = null;
let BLEND: string[] | null = null;

export function plainView(title: string): ScatterView {
  return { key: "plain", title, codes: null, palette: PLAIN_PALETTE, order: null, shown: null, scale: null };
}

export function categoricalView(title: string, codes: Uint16Array | Int32Array, nCategories: number, hidden: ReadonlySet<number>): ScatterView {
  const z = remember(codes, "z", () => Float32Array.from(codes));
  if (!CATEGORY_PALETTES.has(nCategories)) CATEGORY_PALETTES.set(nCategories, categoryPalette(nCategories));
  return {
    key: `cat:${title}`,
    title,
    codes: z,
    palette: CATEGORY_PALETTES.get(nCategories)!,
    order: null,
    shown: shownIndices(z, z.length, hidden),
    scale: null,
  };
}

export interface ContinuousInput {
  title: string;
  label: string;
  values: Float32Array;
  min: number;
  max: number;
  /** Lower end when clipping (q01; or min for genes). */
  qlo: number;
  qhi: number;
  clip: boolean;
  /** Genes: 0 means "not expressing" (grey, underneath). Columns: only NaN is "no value". */
  zeroIsEmpty: boolean;
  emptyLabel: string;
}

export function continuousView(c: ContinuousInput): ScatterView {
  const lo = c.clip ? c.qlo : c.min;
  const hi0 = c.clip ? c.qhi : c.max;
  const hi = hi0 > lo ? hi0 : c.max > lo ? c.max : lo + 1;
  const { codes, order, empty } = remember(c.values, `${lo}:${hi}:${c.zeroIsEmpty}`, () => {
    const codes = new Float32Array(c.values.length);
    binValues(c.values, lo, hi, c.zeroIsEmpty, codes);
    let empty = 0;
    for (let i = 0; i < codes.length; i++) if (codes[i] === 0) empty++;
    return { codes, order: orderByCode(codes, codes.length, RAMP_STEPS + 1), empty };
  });
  return {
    key: `ramp:${c.title}`,
    title: c.title,
    codes,
    palette: (RAMP ??= rampPalette()),
    order,
    shown: null,
    scale: {
      kind: "ramp",
      label: c.label,
      lo,
      hi,
      min: c.min,
      max: c.max,
      clipped: c.clip && (lo > c.min || hi < c.max),
      empty: empty ? { label: c.emptyLabel, cells: empty } : null,
    },
  };
}

export interface BlendInput {
  a: { symbol: string; values: Float32Array; lo: number; hi: number };
  b: { symbol: string; values: Float32Array; lo: number; hi: number };
}

/** Two genes in one view: red for A, blue for B, dark purple where both are high; neither is grey, underneath. */
export function blendView(input: BlendInput): ScatterView {
  const { a, b } = input;
  const { codes, order } = remember(
    a.values,
    `${a.lo}:${a.hi}:${b.lo}:${b.hi}`,
    () => {
      const n = Math.min(a.values.length, b.values.length);
      const codes = new Float32Array(n);
      const sum = new Float32Array(n);
      const level = (v: number, lo: number, hi: number): number => {
        if (!(v > 0)) return 0;
        const t = hi > lo ? (v - lo) / (hi - lo) : 1;
        return 1 + Math.round((t < 0 ? 0 : t > 1 ? 1 : t) * (BLEND_STEPS - 1));
      };
      for (let i = 0; i < n; i++) {
        const la = level(a.values[i], a.lo, a.hi);
        const lb = level(b.values[i], b.lo, b.hi);
        codes[i] = la === 0 && lb === 0 ? 0 : blendIndex(la, lb);
        sum[i] = la + lb;
      }
      return { codes, order: orderByCode(sum, n, 2 * BLEND_STEPS + 1) };
    },
    b.values,
  );
  return {
    key: `blend:${a.symbol}:${b.symbol}`,
    title: `${a.symbol} + ${b.symbol}`,
    codes,
    palette: (BLEND ??= blendPalette()),
    order,
    shown: null,
    scale: { kind: "blend", a: input.a.symbol, b: input.b.symbol },
  };
}
