/**
 * Messages between the app and the gene index build process (gene-index-child-entry.ts), over fork's IPC channel
 * as JSON. Each side checks every message it receives: a malformed one is a named error, never trusted.
 *
 *   child → app   ready    {pid}                                              listening (a message sent before
 *                                                                               that could be lost)
 *   app → child   start    {srcUri, version, tmpDir, nGenes, valueType,       once
 *                           stagingBytes}
 *   child → app   progress {pid, phase: "count" | "scatter", rows}            rows done in that phase so far
 *                 done     {pid, bytes, ms, maxRssBytes, rows, writes}        then the child exits 0
 *                 error    {pid, code, message, path?}                        then the child exits 1
 */
import path from "node:path";
import { ERROR_TITLES, type AppError, type ErrorCode } from "../../../shared/result";
import { isValueType, type ValueType } from "./gene-index-files";

export interface ChildStart {
  t: "start";
  /** The source expression table's folder (local, links resolved). */
  srcUri: string;
  /** The Lance version the dataset is open at: the one read. */
  version: number;
  /** The empty build folder the index goes into (the app renames it into place). */
  tmpDir: string;
  /** Gene ids run from 0 to nGenes - 1 (the genes table's); a row outside fails the build. */
  nGenes: number;
  /** The value column's stored type (the app sized the index by it; the build checks the table still has it). */
  valueType: ValueType;
  /** Memory for the per-gene staging buffers of the scatter pass. */
  stagingBytes: number;
}

export type ChildPhase = "count" | "scatter";

export type ChildMessage =
  | { t: "ready"; pid: number }
  | { t: "progress"; pid: number; phase: ChildPhase; rows: number }
  | { t: "done"; pid: number; bytes: number; ms: number; maxRssBytes: number; rows: number; writes: number }
  | ({ t: "error"; pid: number } & Pick<AppError, "code" | "message" | "path">);

const MAX_TEXT = 4096;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isDuration = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= MAX_TEXT;
const isAbsolutePath = (v: unknown): v is string => isText(v) && !v.includes("\0") && path.isAbsolute(v);
const isErrorCode = (v: unknown): v is ErrorCode => typeof v === "string" && Object.hasOwn(ERROR_TITLES, v);

/** The start message, or null when it is not one. */
export function parseChildStart(m: unknown): ChildStart | null {
  if (!isObject(m) || m.t !== "start") return null;
  const { srcUri, version, tmpDir, nGenes, valueType, stagingBytes } = m;
  if (!isAbsolutePath(srcUri) || !isAbsolutePath(tmpDir) || !isCount(version) || !isCount(nGenes) || !isValueType(valueType)) return null;
  if (!isCount(stagingBytes) || stagingBytes === 0) return null;
  return { t: "start", srcUri, version, tmpDir, nGenes, valueType, stagingBytes };
}

/** A message from the child, or null when it is not one (unknown type, missing or wrong fields). */
export function parseChildMessage(m: unknown): ChildMessage | null {
  if (!isObject(m) || !Number.isSafeInteger(m.pid) || (m.pid as number) <= 0) return null;
  const pid = m.pid as number;
  switch (m.t) {
    case "ready":
      return { t: "ready", pid };
    case "progress":
      return (m.phase === "count" || m.phase === "scatter") && isCount(m.rows) ? { t: "progress", pid, phase: m.phase, rows: m.rows } : null;
    case "done":
      return isCount(m.bytes) && isDuration(m.ms) && isCount(m.maxRssBytes) && isCount(m.rows) && isCount(m.writes)
        ? { t: "done", pid, bytes: m.bytes, ms: m.ms, maxRssBytes: m.maxRssBytes, rows: m.rows, writes: m.writes }
        : null;
    case "error":
      if (!isErrorCode(m.code) || !isText(m.message) || (m.path !== undefined && !isText(m.path))) return null;
      return { t: "error", pid, code: m.code, message: m.message, ...(m.path === undefined ? {} : { path: m.path }) };
    default:
      return null;
  }
}
