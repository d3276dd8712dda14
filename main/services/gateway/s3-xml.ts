/**
 * The little S3 XML the gateway reads and writes: the objects of a ListObjectsV2 answer (their ETags and sizes
 * are learned for this dataset open), the Code and Message of an S3 error, and the gateway's own error bodies.
 * Listings are passed on to Lance as the upstream wrote them; this only reads fields out of them.
 */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (all, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? all;
  });
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`);
}

function field(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlUnescape(m[1]) : null;
}

export interface ListedObject {
  key: string;
  etag: string;
  size: number;
  lastModified: string;
}

/** The objects (`Contents`) of a ListObjectsV2 answer; keys are URL-decoded when the listing was asked with encoding-type=url. */
export function listedObjects(xml: string, urlEncodedKeys: boolean): ListedObject[] {
  const out: ListedObject[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    let key = field(m[1], "Key");
    const etag = field(m[1], "ETag");
    const size = Number(field(m[1], "Size"));
    const lastModified = field(m[1], "LastModified");
    if (key === null || etag === null || !Number.isSafeInteger(size) || lastModified === null) continue;
    if (urlEncodedKeys) {
      try {
        key = decodeURIComponent(key.replace(/\+/g, " "));
      } catch {
        continue;
      }
    }
    out.push({ key, etag: etag.replace(/^"|"$/g, ""), size, lastModified });
  }
  return out;
}

/** Whether more pages follow a ListObjectsV2 answer (`IsTruncated`). */
export function isTruncated(xml: string): boolean {
  return field(xml, "IsTruncated") === "true";
}

/** `KeyCount` of a ListObjectsV2 answer (counting Contents and CommonPrefixes when the server leaves it out). */
export function keyCount(xml: string): number {
  const given = field(xml, "KeyCount");
  if (given !== null && /^\d+$/.test(given)) return Number(given);
  return (xml.match(/<Contents>/g)?.length ?? 0) + (xml.match(/<CommonPrefixes>/g)?.length ?? 0);
}

/** Code, Message and Region of an S3 error body (null fields when absent or not XML). */
export function s3Error(body: string): { code: string | null; message: string | null; region: string | null } {
  return { code: field(body, "Code"), message: field(body, "Message"), region: field(body, "Region") };
}

/** The gateway's error body for Lance: S3's shape, with the gateway's code (errors.ts reads it back out of Lance's error text). */
export function errorXml(code: string, message: string, key?: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>${
    key !== undefined ? `<Key>${xmlEscape(key)}</Key>` : ""
  }</Error>`;
}
