/**
 * Where embedding coordinates land on the scatter canvas. The WebGL scatter draws points in [-1, 1] ("unit"
 * space); the frame maps the embedding's bounds into it (centred, aspect kept, a little padding) and back, so a
 * lasso drawn on screen comes back in embedding coordinates for main to select cells exactly.
 */

export interface Bounds {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** unit = (data - centre) * k. */
export interface Frame {
  cx: number;
  cy: number;
  k: number;
}

/** Share of the unit square the data fills at the start: room at the edges for the points and the tool bar. */
export const FILL = 0.86;

export function frameOf(b: Bounds): Frame {
  const half = Math.max(b.xMax - b.xMin, b.yMax - b.yMin) / 2;
  const ok = Number.isFinite(half) && half > 0;
  return {
    cx: Number.isFinite(b.xMin + b.xMax) ? (b.xMin + b.xMax) / 2 : 0,
    cy: Number.isFinite(b.yMin + b.yMax) ? (b.yMin + b.yMax) / 2 : 0,
    k: ok ? FILL / half : 1,
  };
}

/** Writes unit coordinates of src[from, to) into out (same positions). */
export function toUnit(out: Float32Array, src: Float32Array, from: number, to: number, centre: number, k: number): void {
  for (let i = from; i < to; i++) out[i] = (src[i] - centre) * k;
}

export function unitToData(f: Frame, ux: number, uy: number): [number, number] {
  return [ux / f.k + f.cx, uy / f.k + f.cy];
}

/**
 * The camera distance at which the unit square fits a canvas of this size: the scatter maps unit y [-1, 1] to the
 * canvas height and x at the same scale, so a canvas taller than wide needs to step back.
 */
export function fitDistance(width: number, height: number): number {
  return width > 0 && height > 0 ? Math.max(1, height / width) : 1;
}

/** Canvas pixel (CSS px from the canvas' top left) of an embedding point in the initial view. */
export function dataToScreen(f: Frame, x: number, y: number, width: number, height: number): [number, number] {
  const s = height / 2 / fitDistance(width, height);
  return [width / 2 + (x - f.cx) * f.k * s, height / 2 - (y - f.cy) * f.k * s];
}

/** A lasso from the scatter (unit space; pairs or a flat list) as a polygon in embedding coordinates. */
export function polygonToData(f: Frame, coordinates: readonly (readonly number[])[] | readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  if (coordinates.length && typeof coordinates[0] === "number") {
    const flat = coordinates as readonly number[];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push(unitToData(f, flat[i], flat[i + 1]));
  } else for (const p of coordinates as readonly (readonly number[])[]) out.push(unitToData(f, p[0], p[1]));
  return out;
}
