/**
 * `slaf-workbench cache list|pin|unpin|evict|clear|size`: the gateway's disk cache on the command line, the same
 * folder the app uses (`<user data>/cache`). `pin` starts a gateway in this process (upstream: HF_ENDPOINT, else
 * https://huggingface.co; token: HF_TOKEN; S3: the saved S3 settings), as `query hf://...` does.
 */
import path from "node:path";
import { formatBytes } from "../../shared/format";
import { AppFailure } from "../../shared/result";
import { pointLanceAt, startGateway, type Gateway } from "../services/gateway/index";
import { cacheManager, parseSize, type CacheUsage, type PinInfo, type RemovalResult } from "../services/gateway/cache-manager";
import { loadSettings } from "../services/settings";
import { flagList, flagString, parseArgs, UsageError, type ParsedArgs } from "./args";
import { cliS3Access } from "./cli-settings";
import { defaultUserDataDir } from "./user-data";

export const CACHE_USAGE = [
  "slaf-workbench cache list|pin|unpin|evict|clear|size [--format table|json]",
  "      cache list                                   bytes cached per dataset, revision and table; pins; gene indexes",
  "      cache size [--cap SIZE]                      size against the cap (default 20GB); --cap 50GB sets it",
  "      cache pin URI [--table T]... [--columns a,b] [--offline]   keep tables (or columns) local for offline use",
  "      cache unpin URI [--table T]                  let pinned data be evicted again (URI: hf://datasets/... or s3://...)",
  "      cache evict URI[@REVISION] [--table T]       remove a dataset (hf:// or s3://), one revision of it, or one table",
  "      cache clear                                  remove everything cached",
].join("\n");

// Read when this module loads, before a gateway replaces HF_ENDPOINT in this process for Lance.
const UPSTREAM = (process.env.HF_ENDPOINT?.trim() || "https://huggingface.co").replace(/\/+$/, "");
const TOKEN = process.env.HF_TOKEN?.trim() || process.env.HUGGING_FACE_HUB_TOKEN?.trim() || null;

const FORMATS = ["table", "json"] as const;
type Format = (typeof FORMATS)[number];

export interface CacheIo {
  out(text: string): void;
  /** Progress lines (stderr). */
  err(text: string): void;
}

const STDIO: CacheIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

function date(iso: string | null): string {
  return iso ? iso.slice(0, 16).replace("T", " ") : "—";
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function pinLine(p: PinInfo): string {
  const what = `${p.table}${p.columns ? ` (${p.columns.join(", ")})` : ""}`;
  const missing = p.state === "complete" && p.presentBytes < p.bytes ? `, ${formatBytes(p.bytes - p.presentBytes)} of it no longer on disk` : "";
  return `  ${p.uri}  ${what}  ${formatBytes(p.bytes)}${p.state === "running" ? "  (being pinned now)" : ""}${missing}`;
}

function sizeLine(u: Pick<CacheUsage, "dir" | "totalBytes" | "pinnedBytes" | "capBytes">): string {
  const share = u.capBytes > 0 ? ` (${Math.round((100 * u.totalBytes) / u.capBytes)}%)` : "";
  return `${formatBytes(u.totalBytes)} of a ${formatBytes(u.capBytes)} cap${share}, ${formatBytes(u.pinnedBytes)} pinned, in ${u.dir}`;
}

function renderUsage(u: CacheUsage): string {
  const lines: string[] = [];
  if (u.entries.length) {
    const rows = [["DATASET", "REVISION", "TABLE", "SIZE", "PINNED", "LAST USED", "SOURCE"]];
    for (const e of u.entries) {
      const dataset = e.sha ? e.uri.slice(0, e.uri.lastIndexOf("@")) : e.uri;
      const revision = e.sha ? `${e.sha.slice(0, 12)}${e.refs.length ? ` (${e.refs.join(", ")})` : ""}` : "—";
      const source = e.endpoint ? new URL(e.endpoint).host : "?";
      rows.push([dataset, revision, e.table ?? "(other files)", formatBytes(e.bytes), formatBytes(e.pinnedBytes), date(e.lastUsed), source]);
    }
    lines.push(table(rows), "");
  } else lines.push("Nothing cached.", "");
  if (u.pins.length) lines.push("Pins:", ...u.pins.map(pinLine), "");
  if (u.geneIndexes.length) {
    const rows = [["GENE INDEX OF", "VERSION", "ROWS", "SIZE", "BUILT"]];
    for (const g of u.geneIndexes) rows.push([g.tablePath, String(g.version), g.rows.toLocaleString("en-US"), formatBytes(g.bytes), date(g.builtAt)]);
    lines.push(table(rows), "");
  }
  lines.push(sizeLine(u));
  return `${lines.join("\n")}\n`;
}

function removal(r: RemovalResult, what: string): string {
  if (r.removedBytes === 0 && r.pinsRemoved === 0) return `Nothing cached for ${what}\n`;
  const pins = r.pinsRemoved ? `, ${r.pinsRemoved} pin${r.pinsRemoved === 1 ? "" : "s"}` : "";
  return `Removed ${formatBytes(r.removedBytes)} (${r.removedBlocks} blocks${pins}) of ${what}\n`;
}

function oneUri(args: ParsedArgs, command: string): string {
  const [uri, ...extra] = args.positionals;
  if (!uri || extra.length) throw new UsageError(`cache ${command} needs one dataset URI, e.g. hf://datasets/org/repo/atlas.slaf`);
  return uri;
}

function oneTable(args: ParsedArgs): string | undefined {
  const tables = flagList(args, "table", "a table name");
  if (tables.length > 1) throw new UsageError("--table may be given once here");
  return tables[0];
}

/** Pins are for remote datasets (cache-pin.ts); a local folder is named with what happens to it instead. */
function pinnable(uri: string): void {
  if (uri.startsWith("hf://") || uri.startsWith("s3://")) return;
  throw new AppFailure(
    "INVALID_ARGUMENT",
    `Pinning is for remote datasets (hf://datasets/<owner>/<repo>[/<path>] or s3://<bucket>[/<prefix>]): a local folder is read where it is, never cached. Got ${uri}`,
  );
}

async function pin(args: ParsedArgs, userDataDir: string, format: Format, io: CacheIo): Promise<void> {
  const dir = path.join(userDataDir, "cache");
  const uri = oneUri(args, "pin");
  pinnable(uri);
  const tables = flagList(args, "table", "a table name");
  const columnsFlag = args.flags.get("columns");
  if (columnsFlag === true) throw new UsageError("--columns needs a comma-separated list of columns");
  const columns = columnsFlag
    ?.split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  if (columnsFlag !== undefined && !columns?.length) throw new UsageError("--columns needs at least one column");
  if (columns && tables.length !== 1) throw new UsageError("--columns needs exactly one --table");

  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let gateway: Gateway | null = null;
  try {
    gateway = await startGateway({ cacheDir: dir, hubEndpoint: UPSTREAM, hfToken: TOKEN, offline: args.flags.get("offline") === true });
    pointLanceAt(gateway);
    let lastLine = "";
    const s3 = uri.startsWith("s3://") ? await cliS3Access((await loadSettings(userDataDir)).settings, userDataDir) : undefined;
    const pins = await cacheManager(dir).pin(
      gateway,
      { uri, tables, columns, s3 },
      {
        signal: controller.signal,
        onProgress: (p) => {
          // One line per phase and table, and per tenth of the rows: readable in a log as on a terminal.
          const tenth = p.total ? Math.floor((10 * p.done) / p.total) : 0;
          const line = `${p.message}${p.total ? ` ${Math.round((100 * p.done) / p.total)}%` : ""}`;
          const key = `${p.phase}:${p.table}:${tenth}`;
          if (key !== lastLine) io.err(`${line}\n`);
          lastLine = key;
        },
      },
    );
    if (format === "json") io.out(`${JSON.stringify(pins, null, 2)}\n`);
    else io.out(`Pinned:\n${pins.map(pinLine).join("\n")}\n`);
  } catch (e) {
    if (controller.signal.aborted) throw new Error("Pin cancelled: nothing was pinned (what was read stays in the cache)", { cause: e });
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await gateway?.close();
  }
}

export async function cacheCommand(argv: string[], io: CacheIo = STDIO, userDataDir = defaultUserDataDir()): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, ["offline"]);
  const format = (flagString(args, "format") ?? "table") as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  const dir = path.join(userDataDir, "cache");
  const cache = cacheManager(dir);
  const print = (value: unknown, text: string): void => io.out(format === "json" ? `${JSON.stringify(value, null, 2)}\n` : text);
  switch (sub) {
    case "list": {
      const usage = await cache.usage();
      return print(usage, renderUsage(usage));
    }
    case "size": {
      const capFlag = args.flags.get("cap");
      if (capFlag !== undefined) {
        const cap = capFlag === true ? null : parseSize(capFlag);
        if (cap === null) throw new UsageError(`--cap needs a size such as 50GB or 512MB, got "${capFlag === true ? "" : capFlag}"`);
        const result = await cache.setCap(cap);
        if (format === "table" && result.evictedBlocks)
          io.out(`Evicted ${formatBytes(result.evictedBytes)} (${result.evictedBlocks} blocks) to fit the new cap\n`);
      }
      const { dir: d, totalBytes, pinnedBytes, capBytes } = await cache.usage();
      return print({ dir: d, totalBytes, pinnedBytes, capBytes }, `${sizeLine({ dir: d, totalBytes, pinnedBytes, capBytes })}\n`);
    }
    case "evict": {
      const uri = oneUri(args, "evict");
      const result = await cache.evict({ uri, table: oneTable(args) });
      const what = `${uri}${oneTable(args) ? ` table ${oneTable(args)}` : ""}`;
      return print(result, removal(result, what));
    }
    case "unpin": {
      const uri = oneUri(args, "unpin");
      const removed = await cache.unpin({ uri, table: oneTable(args) });
      return print({ pinsRemoved: removed }, removed ? `Unpinned ${removed} pin${removed === 1 ? "" : "s"} of ${uri}\n` : `No pin of ${uri}\n`);
    }
    case "clear": {
      if (args.positionals.length) throw new UsageError("cache clear takes no argument");
      const result = await cache.clear();
      return print(result, removal(result, "the cache"));
    }
    case "pin":
      return pin(args, userDataDir, format, io);
    default:
      throw new UsageError(sub ? `Unknown cache command "${sub}"` : "cache needs a command: list, pin, unpin, evict, clear or size");
  }
}
