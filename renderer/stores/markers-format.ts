/** How the Markers panel prints its numbers. */

/** A p-value: 3 significant digits, scientific below 0.001, "< 1e-300" for an underflow to 0. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return "—";
  if (p === 0) return "< 1e-300";
  return p < 1e-3 ? p.toExponential(2) : String(Number(p.toPrecision(3)));
}

export function formatStat(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? "∞" : v < 0 ? "−∞" : "—";
}

export function formatFraction(f: number): string {
  return Number.isFinite(f) ? `${(f * 100).toFixed(1)}%` : "—";
}
