/** How the cache panel writes commits and times. */

/** A commit as its first seven characters. */
export const shortSha = (sha: string): string => sha.slice(0, 7);

/** A time as a medium date and a short time; "—" for never. */
export const when = (iso: string | null): string => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—");
