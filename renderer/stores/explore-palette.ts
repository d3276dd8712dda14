/**
 * Colours of the Explore scatter. Every colouring becomes one palette index per point (a Float32Array the WebGL
 * scatter reads as categories): categories index their colour; continuous values and genes are binned into a
 * 255-step ramp with index 0 kept for "no value" (non-expressing cells, nulls), drawn grey.
 */

/** Tableau-like categorical colours, readable on white; categories past the end cycle with a lighter tint. */
export const CATEGORY_COLORS = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#1f77b4",
  "#8c564b",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
  "#d62728",
  "#9467bd",
  "#2ca02c",
  "#e377c2",
  "#ff7f0e",
];

/** Non-expressing cells, nulls, and cells of hidden categories when shown greyed out. */
export const NO_VALUE_COLOR = "#d3d7dc";

/** Steps of a continuous ramp (indices 1..RAMP_STEPS; 0 is "no value"). */
export const RAMP_STEPS = 255;

export function categoryColor(i: number): string {
  const base = CATEGORY_COLORS[i % CATEGORY_COLORS.length];
  const round = Math.floor(i / CATEGORY_COLORS.length);
  return round === 0 ? base : mix(base, "#ffffff", Math.min(0.6, 0.25 * round));
}

export function categoryPalette(n: number): string[] {
  return Array.from({ length: Math.max(1, n) }, (_, i) => categoryColor(i));
}

// Viridis at 9 stops, interpolated: perceptually even and readable for colour-blind people.
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];

/** The colour at t in [0, 1] of the continuous ramp. */
export function rampColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  return mix(VIRIDIS[i], VIRIDIS[i + 1], x - i);
}

/** Palette for binned values: index 0 grey, then RAMP_STEPS ramp colours. */
export function rampPalette(): string[] {
  return [NO_VALUE_COLOR, ...Array.from({ length: RAMP_STEPS }, (_, i) => rampColor(i / (RAMP_STEPS - 1)))];
}

/** Gene A in red, gene B in blue, both in dark purple: BLEND_STEPS levels each (index 0: neither). */
export const BLEND_STEPS = 15;

export function blendPalette(): string[] {
  const out = [NO_VALUE_COLOR];
  for (let a = 0; a <= BLEND_STEPS; a++)
    for (let b = 0; b <= BLEND_STEPS; b++) {
      if (a === 0 && b === 0) continue;
      out.push(blendColor(a / BLEND_STEPS, b / BLEND_STEPS));
    }
  return out;
}

/** Palette index of a blend of levels a, b in 0..BLEND_STEPS (not both 0). */
export function blendIndex(a: number, b: number): number {
  return a * (BLEND_STEPS + 1) + b;
}

/** Multiplied tints: a alone red, b alone blue, both dark purple; a level > 0 starts at a visible tint. */
export function blendColor(ta: number, tb: number): string {
  const RED = [0.84, 0.15, 0.16];
  const BLUE = [0.12, 0.38, 0.86];
  const level = (t: number): number => (t > 0 ? 0.25 + 0.75 * t : 0);
  const la = level(ta);
  const lb = level(tb);
  return hex(RED.map((r, i) => 255 * (1 + (r - 1) * la) * (1 + (BLUE[i] - 1) * lb)));
}

/**
 * Bins values into palette indices: null/NaN (and, with `zeroIsEmpty`, 0) to 0, the rest to 1..RAMP_STEPS over
 * [lo, hi], clipped at both ends. `order` maps output position i to the value read (null: the same position).
 */
export function binValues(values: Float32Array, lo: number, hi: number, zeroIsEmpty: boolean, out: Float32Array, order: Int32Array | null = null): void {
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < out.length; i++) {
    const v = order ? values[order[i]] : values[i];
    if (v !== v || (zeroIsEmpty && v === 0)) out[i] = 0;
    else {
      const t = (v - lo) / span;
      out[i] = 1 + Math.round((t < 0 ? 0 : t > 1 ? 1 : t) * (RAMP_STEPS - 1));
    }
  }
}

/**
 * The [lo, hi] a continuous scale spans: the q-th and (1-q)-th quantiles of the values (of the non-zero ones with
 * `zeroIsEmpty`), so a few outliers do not wash out everything else. Null when there is nothing to scale.
 */
export function quantileRange(values: Float32Array, q: number, zeroIsEmpty: boolean): [number, number] | null {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === v && !(zeroIsEmpty && v === 0)) n++;
  }
  if (n === 0) return null;
  const kept = new Float32Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === v && !(zeroIsEmpty && v === 0)) kept[k++] = v;
  }
  kept.sort();
  const at = (p: number): number => kept[Math.min(n - 1, Math.max(0, Math.round(p * (n - 1))))];
  const lo = at(q);
  const hi = at(1 - q);
  return hi > lo ? [lo, hi] : [kept[0], kept[n - 1]];
}

function parse(color: string): [number, number, number] {
  const h = color.replace("#", "");
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

function hex(rgb: number[]): string {
  return (
    "#" +
    rgb
      .map((c) =>
        Math.round(Math.min(255, Math.max(0, c)))
          .toString(16)
          .padStart(2, "0"),
      )
      .join("")
  );
}

export function mix(a: string, b: string, t: number): string {
  const pa = parse(a);
  const pb = parse(b);
  return hex(pa.map((c, i) => c + (pb[i] - c) * t));
}
