/**
 * Signed CDN URLs the Hub redirects file reads to, kept per file until shortly before they expire, so repeated
 * range reads of one file go straight to the CDN and do not spend the resolver budget.
 */

const FALLBACK_TTL_MS = 60_000;
const MAX_MARGIN_MS = 60_000;

/** When a signed URL stops working: CloudFront `Expires=<epoch s>`, S3 `X-Amz-Date` + `X-Amz-Expires`, else a minute. */
export function signedUrlExpiry(url: URL, now: number): number {
  const expires = url.searchParams.get("Expires");
  if (expires && /^\d+$/.test(expires)) return Number(expires) * 1000;
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get("X-Amz-Date") ?? "");
  const ttl = url.searchParams.get("X-Amz-Expires");
  if (date && ttl && /^\d+$/.test(ttl)) return Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6]) + Number(ttl) * 1000;
  return now + FALLBACK_TTL_MS;
}

interface Entry {
  url: URL;
  expiresAt: number;
  margin: number;
}

export class CdnUrls {
  private readonly entries = new Map<string, Entry>();

  get(key: string, now: number): URL | null {
    const e = this.entries.get(key);
    if (!e) return null;
    if (now + e.margin >= e.expiresAt) {
      this.entries.delete(key);
      return null;
    }
    return e.url;
  }

  set(key: string, url: URL, now: number): void {
    const expiresAt = signedUrlExpiry(url, now);
    if (expiresAt <= now) return;
    this.entries.set(key, { url, expiresAt, margin: Math.min(MAX_MARGIN_MS, (expiresAt - now) / 10) });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
