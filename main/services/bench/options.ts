/**
 * Checks benchmark options beyond their schema (the CLI has no schema at its door): each failure is
 * BENCH_OPTIONS_INVALID naming the field, as the panel shows it next to that field.
 */
import type { BenchOptions } from "../../../shared/ipc/contract";
import { fail } from "../errors";

/** Sources one run may measure (the schema's limit). */
export const MAX_BENCH_SOURCES = 8;

function invalid(field: string, message: string): never {
  fail("BENCH_OPTIONS_INVALID", `Option ${field}: ${message}`, { detail: `field: options.${field}` });
}

function integer(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) invalid(field, `must be a whole number from ${min} to ${max}, got ${String(v)}`);
}

/** The options as given (trimmed URIs), or BENCH_OPTIONS_INVALID naming the first field at fault. */
export function checkBenchOptions(o: BenchOptions): BenchOptions {
  if (!Array.isArray(o.uris) || o.uris.length === 0) invalid("uris", "name at least one dataset location");
  if (o.uris.length > MAX_BENCH_SOURCES) invalid("uris", `at most ${MAX_BENCH_SOURCES} locations per run, got ${o.uris.length}`);
  const uris = o.uris.map((u) => (typeof u === "string" ? u.trim() : ""));
  if (uris.some((u) => u === "")) invalid("uris", "a location is empty");
  if (o.table !== "cells" && o.table !== "expression") invalid("table", `must be cells or expression, got ${String(o.table)}`);
  if (!["scan", "raw", "geneformer", "scgpt"].includes(o.reader)) invalid("reader", `must be scan, raw, geneformer or scgpt, got ${String(o.reader)}`);
  if (o.reader !== "scan" && o.table !== "expression") invalid("table", `the ${o.reader} reader is the dataloader's: it reads the expression table`);
  if (o.columns !== null) {
    if (o.reader !== "scan") invalid("columns", `the ${o.reader} reader reads the columns it needs; choose columns with the scan reader`);
    if (!Array.isArray(o.columns) || o.columns.length === 0) invalid("columns", "name at least one column, or none for every column");
    if (o.columns.some((c) => typeof c !== "string" || c.trim() === "")) invalid("columns", "a column name is empty");
    if (new Set(o.columns).size !== o.columns.length) invalid("columns", "a column is named twice");
  }
  integer("batchSize", o.batchSize, 1, 1_000_000);
  if (o.batches === null && o.seconds === null) invalid("batches", "set a number of batches, a number of seconds, or both");
  if (o.batches !== null) integer("batches", o.batches, 1, 100_000_000);
  if (o.seconds !== null && (typeof o.seconds !== "number" || !Number.isFinite(o.seconds) || o.seconds < 0.1 || o.seconds > 24 * 3600))
    invalid("seconds", `must be from 0.1 to 86400, got ${String(o.seconds)}`);
  if (typeof o.cold !== "boolean") invalid("cold", "must be true or false");
  integer("concurrency", o.concurrency, 1, 64);
  integer("repeat", o.repeat, 1, 100);
  return { ...o, uris, columns: o.columns ? [...o.columns] : null };
}
