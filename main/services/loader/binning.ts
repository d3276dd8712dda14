/** Expression binning for the scGPT value stream, in both compatibility modes. */

/**
 * SLAF 0.5.2's `_expression_to_bin_vectorized` on float data, which NumPy runs in float32:
 * `clip(int(f32(x) / f32(1/n_bins)), 0, n_bins-1)`; -1 stands for "x <= 0", which becomes PAD. So with 10 bins
 * 0.7 → 7 (float64 would say 6) and everything ≥ 1.0 saturates to the top bin.
 */
export function slafdbFloatBin(x: number, nBins: number): number {
  const x32 = Math.fround(x);
  if (!(x32 > 0)) return -1;
  const bin = Math.trunc(Math.fround(x32 / Math.fround(1 / nBins)));
  return bin > nBins - 1 ? nBins - 1 : bin;
}

/**
 * Canonical per-cell bin of a log1p value (SLAF's intended `ScGPTWindow` binning, in float64):
 * `floor(lv * n_bins / max_lv)` clipped to [0, n_bins-1], 0 where lv <= 0. The cell's maximum lands in the top bin.
 */
export function log1pBin(lv: number, maxLv: number, nBins: number): number {
  if (!(lv > 0) || !(maxLv > 0)) return 0;
  const bin = Math.floor((lv * nBins) / maxLv);
  return bin > nBins - 1 ? nBins - 1 : bin;
}
