/**
 * Main-thread side: a batch from its parts. Most batches come whole from one step; a batch that straddles two
 * steps comes as two parts, joined here row-wise (tokenization is per cell, so joining tokenized rows equals
 * tokenizing the joined cells).
 */
import type { CsrBatch, TokenizedBatch } from "../tokens";
import type { RawBatch } from "../raw";
import type { BatchPart } from "./protocol";
import { partBuffers } from "./step-batches";

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array;

function concat<T extends Typed>(arrays: T[]): T {
  if (arrays.length === 1) return arrays[0];
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const out = new (arrays[0].constructor as new (n: number) => T)(total);
  let at = 0;
  for (const a of arrays) {
    out.set(a as never, at);
    at += a.length;
  }
  return out;
}

function joinTokens(parts: TokenizedBatch[]): TokenizedBatch {
  const [first] = parts;
  const facts = Object.fromEntries(
    Object.keys(first.facts).map((k) => [k, concat(parts.map((p) => p.facts[k as keyof typeof p.facts]) as Typed[])]),
  ) as unknown as TokenizedBatch["facts"];
  return {
    ...first,
    batchSize: parts.reduce((n, p) => n + p.batchSize, 0),
    cellIds: concat(parts.map((p) => p.cellIds)),
    inputIds: concat(parts.map((p) => p.inputIds)),
    attentionMask: concat(parts.map((p) => p.attentionMask)),
    values: concat(parts.map((p) => p.values)),
    valueTokens: first.valueTokens ? concat(parts.map((p) => p.valueTokens as Int32Array)) : null,
    facts,
  };
}

function joinRaw(parts: RawBatch[]): RawBatch {
  return {
    cellIds: concat(parts.map((p) => p.cellIds)),
    rowCellIds: concat(parts.map((p) => p.rowCellIds)),
    geneIds: concat(parts.map((p) => p.geneIds as Typed)) as RawBatch["geneIds"],
    values: concat(parts.map((p) => p.values as Typed)) as RawBatch["values"],
  };
}

function joinCsr(parts: CsrBatch[]): CsrBatch {
  const n = parts.reduce((k, p) => k + p.cellIds.length, 0);
  const offsets = new Uint32Array(n + 1);
  let cell = 0;
  let base = 0;
  for (const p of parts) {
    const k = p.cellIds.length;
    for (let i = 1; i <= k; i++) offsets[cell + i] = base + p.offsets[i] - p.offsets[0];
    cell += k;
    base += p.offsets[k] - p.offsets[0];
  }
  return {
    cellIds: concat(parts.map((p) => p.cellIds as Typed)) as CsrBatch["cellIds"],
    offsets,
    genes: concat(parts.map((p) => p.genes.subarray(p.offsets[0], p.offsets[p.cellIds.length]) as Typed)) as CsrBatch["genes"],
    values: concat(parts.map((p) => p.values.subarray(p.offsets[0], p.offsets[p.cellIds.length]) as Typed)) as CsrBatch["values"],
    valueType: parts[0].valueType,
  };
}

/** One part holding the batch's cells from all `parts` (in order). */
export function joinParts(parts: BatchPart[]): BatchPart {
  if (parts.length === 1) return parts[0];
  const [first] = parts;
  return {
    batch: first.batch,
    cellIds: concat(parts.map((p) => p.cellIds)),
    fragments: concat(parts.map((p) => p.fragments)),
    tokens: first.tokens ? joinTokens(parts.map((p) => p.tokens as TokenizedBatch)) : null,
    raw: first.raw ? joinRaw(parts.map((p) => p.raw as RawBatch)) : null,
    csr: first.csr ? joinCsr(parts.map((p) => p.csr as CsrBatch)) : null,
  };
}

/** Bytes of the distinct buffers a part holds (what the queue budget counts). */
export function partBytes(parts: BatchPart[]): number {
  return partBuffers(parts).reduce((n, b) => n + b.byteLength, 0);
}
