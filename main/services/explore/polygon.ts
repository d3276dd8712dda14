/**
 * Lasso selection: cells whose embedding point lies inside a polygon. Even-odd rule with the half-open crossing
 * test (an edge counts when exactly one end is above the point's y), in float64 on the stored coordinates; the
 * same arithmetic as `polygonSql`, so SQL over the cells table selects exactly the same cells.
 */
import { EXPLORE_MAX_POLYGON_POINTS } from "../../../shared/ipc/contract";
import { fail } from "../errors";

export function checkPolygon(polygon: number[]): void {
  if (polygon.length % 2 !== 0) fail("EXPLORE_SET_INVALID", `The polygon has ${polygon.length} numbers; it needs x, y pairs`);
  if (polygon.length < 6) fail("EXPLORE_SET_INVALID", "A polygon needs at least 3 vertices");
  if (polygon.length > 2 * EXPLORE_MAX_POLYGON_POINTS) fail("EXPLORE_SET_INVALID", `A polygon may have at most ${EXPLORE_MAX_POLYGON_POINTS} vertices`);
  if (!polygon.every(Number.isFinite)) fail("EXPLORE_SET_INVALID", "Polygon coordinates must be finite numbers");
}

export function insidePolygon(px: number, py: number, polygon: number[]): boolean {
  let inside = false;
  const n = polygon.length / 2;
  for (let k = 0, prev = n - 1; k < n; prev = k++) {
    const xi = polygon[2 * k];
    const yi = polygon[2 * k + 1];
    const xj = polygon[2 * prev];
    const yj = polygon[2 * prev + 1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Ids (indexes into x/y) of the points inside, ascending. NaN points are never inside. */
export function pointsInPolygon(x: Float32Array, y: Float32Array, polygon: number[]): Int32Array {
  checkPolygon(polygon);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let k = 0; k < polygon.length; k += 2) {
    minX = Math.min(minX, polygon[k]);
    maxX = Math.max(maxX, polygon[k]);
    minY = Math.min(minY, polygon[k + 1]);
    maxY = Math.max(maxY, polygon[k + 1]);
  }
  // Beyond the bounding box no crossing test can make a point inside (above or below: no edge straddles it; left or
  // right: crossings pair up). The x margin keeps points within rounding of the box on the exact test.
  const margin = (maxX - minX) * 1e-9 + Number.EPSILON;
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const px = x[i];
    const py = y[i];
    if (!(py >= minY && py <= maxY && px >= minX - margin && px <= maxX + margin)) continue;
    if (insidePolygon(px, py, polygon)) out.push(i);
  }
  return Int32Array.from(out);
}

function num(v: number): string {
  // Full precision, as a DOUBLE literal.
  return `${String(v)}::DOUBLE`;
}

/** A SQL predicate (DuckDB) that is true exactly when (xExpr, yExpr) is inside the polygon, by the same rule. */
export function polygonSql(xExpr: string, yExpr: string, polygon: number[]): string {
  checkPolygon(polygon);
  const n = polygon.length / 2;
  const px = `(${xExpr})::DOUBLE`;
  const py = `(${yExpr})::DOUBLE`;
  const terms: string[] = [];
  for (let k = 0, prev = n - 1; k < n; prev = k++) {
    const [xi, yi, xj, yj] = [polygon[2 * k], polygon[2 * k + 1], polygon[2 * prev], polygon[2 * prev + 1]];
    terms.push(
      `(CASE WHEN ((${py} < ${num(yi)}) <> (${py} < ${num(yj)})) AND ${px} < (${num(xj)} - ${num(xi)}) * (${py} - ${num(yi)}) / (${num(yj)} - ${num(yi)}) + ${num(xi)} THEN 1 ELSE 0 END)`,
    );
  }
  return `(${terms.join(" + ")}) % 2 = 1`;
}
