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
