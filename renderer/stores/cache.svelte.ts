/**
 * The Cache panel's store: what the gateway's disk cache holds (grouped source → dataset → revision → table), the
 * size cap, pins of the open remote dataset as jobs, unpin, evict and clear. It reads the usage again after every
 * action, and every `intervalMs` while a pin runs (the pin's bytes grow as it scans).
 */
import type { CacheEntry, CachePinRequest, CacheSelector, CacheUsage, Client, DatasetSummary, JobEvent } from "../../shared/ipc/contract";
import { formatBytes } from "../../shared/format";
import type { AppError, Result } from "../../shared/result";
import type { AskConfirm } from "./confirm";
import type { Jobs } from "./jobs.svelte";
import { datasetOrigin } from "./remote-uri";

export const PIN_POLL_MS = 1000;

interface Sized {
  bytes: number;
  pinnedBytes: number;
  /** Most recent use (ISO time) of anything below; null when nothing has blocks. */
  lastUsed: string | null;
}

export interface RevisionGroup extends Sized {
  key: string;
  /** The commit (null for S3, cached per object version). */
  sha: string | null;
  refs: string[];
  /** What evict/unpin take for this revision. */
  uri: string;
  tables: CacheEntry[];
}

export interface DatasetGroup extends Sized {
  key: string;
  /** `owner/repo[/path]`, or `bucket[/prefix]`. */
  name: string;
  /** The dataset without a revision: evicting it removes every revision. */
  uri: string;
  revisions: RevisionGroup[];
}

export interface SourceGroup extends Sized {
  key: string;
  /** "Hugging Face" or "S3", with the endpoint's host. */
  label: string;
  endpoint: string | null;
  datasets: DatasetGroup[];
}

function later(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

function add(into: Sized, e: Sized): void {
  into.bytes += e.bytes;
  into.pinnedBytes += e.pinnedBytes;
  into.lastUsed = later(into.lastUsed, e.lastUsed);
}

function hostOf(endpoint: string | null): string {
  if (!endpoint) return "";
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

/** The dataset URI of an entry without its revision (`…@sha` cut off). */
export function datasetUriOf(e: Pick<CacheEntry, "uri" | "sha">): string {
  return e.sha ? e.uri.slice(0, e.uri.lastIndexOf("@")) : e.uri;
}

/** The usage's flat entries as the panel's tree, in the order main lists them. */
export function groupUsage(entries: CacheEntry[]): SourceGroup[] {
  // A local in a pure function, not state.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  const sources = new Map<string, SourceGroup>();
  for (const e of entries) {
    const sourceKey = `${e.source} ${e.endpoint ?? ""}`;
    let s = sources.get(sourceKey);
    if (!s) {
      const host = hostOf(e.endpoint);
      s = {
        key: sourceKey,
        label: `${e.source === "hf" ? "Hugging Face" : "S3"}${host ? ` · ${host}` : ""}`,
        endpoint: e.endpoint,
        datasets: [],
        bytes: 0,
        pinnedBytes: 0,
        lastUsed: null,
      };
      sources.set(sourceKey, s);
    }
    const uri = datasetUriOf(e);
    let d = s.datasets.find((x) => x.uri === uri);
    if (!d) {
      d = { key: `${sourceKey} ${uri}`, name: `${e.repo}${e.dataset ? `/${e.dataset}` : ""}`, uri, revisions: [], bytes: 0, pinnedBytes: 0, lastUsed: null };
      s.datasets.push(d);
    }
    let r = d.revisions.find((x) => x.sha === e.sha);
    if (!r) {
      r = { key: `${d.key} ${e.sha ?? ""}`, sha: e.sha, refs: e.refs, uri: e.uri, tables: [], bytes: 0, pinnedBytes: 0, lastUsed: null };
      d.revisions.push(r);
    }
    r.tables.push(e);
    add(r, e);
    add(d, e);
    add(s, e);
  }
  return [...sources.values()];
}

const UNITS: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "50 GB", "512MB", "1.5 TB" (1 GB = 1024³ bytes, as sizes are shown) → bytes; null when it is not a size. */
export function parseCapInput(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?\s*$/i.exec(text);
  if (!m) return null;
  const bytes = Math.round(Number(m[1]) * UNITS[(m[2] ?? "B").toUpperCase()]);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** A pin of the open dataset: a Hub dataset at its resolved commit, so what is pinned is what the app reads; an S3 dataset as it is now. */
export function pinUriOf(dataset: Pick<DatasetSummary, "uri" | "source" | "revision">): string | null {
  const origin = datasetOrigin(dataset);
  const at = origin.path ? `/${origin.path}` : "";
  if (dataset.source === "s3") return `s3://${origin.where}${at}`;
  if (dataset.source !== "hf" || !dataset.revision) return null;
  return `hf://datasets/${origin.where}${at}@${dataset.revision.sha}`;
}

export class Cache {
  usage = $state<CacheUsage | null>(null);
  /** The last failed call, cleared by the next action. */
  error = $state<AppError | null>(null);
  /** What the last action did ("Removed 12 MB…"). */
  notice = $state<string | null>(null);
  /** An action in flight (its label); actions do not overlap. */
  busy = $state<string | null>(null);
  pinJobId = $state<string | null>(null);
  /** The end of the last pin job (done, failed or cancelled). */
  lastPin = $state<JobEvent | null>(null);

  private timer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  constructor(
    private readonly client: Client,
    private readonly jobs: Jobs,
    private readonly confirm: AskConfirm,
    private readonly intervalMs = PIN_POLL_MS,
  ) {}

  get groups(): SourceGroup[] {
    return groupUsage(this.usage?.entries ?? []);
  }

  /** The running pin job's latest event (progress), if a pin runs. */
  get pinJob(): JobEvent | null {
    return this.pinJobId ? (this.jobs.byId[this.pinJobId] ?? null) : null;
  }

  async refresh(): Promise<void> {
    const r = await this.client.cache.usage({});
    if (r.ok) this.usage = r.value;
    else this.error = r.error;
  }

  async setCap(capBytes: number): Promise<boolean> {
    return this.act(
      "Setting the cap",
      () => this.client.cache.setCap({ capBytes }),
      (v) =>
        v.evictedBytes > 0 ? `Cap set to ${formatBytes(capBytes)}; evicted ${formatBytes(v.evictedBytes)} to fit` : `Cap set to ${formatBytes(capBytes)}`,
    );
  }

  async unpin(selector: CacheSelector, what: string): Promise<boolean> {
    return this.act(
      `Unpinning ${what}`,
      () => this.client.cache.unpin(selector),
      (v) => (v.pinsRemoved ? `Unpinned ${what}: its data stays cached, evictable again` : `Nothing of ${what} was pinned`),
    );
  }

  /** Evicts a dataset, revision or table; asks first when pinned data would go with it. */
  async evict(selector: CacheSelector, what: string, pinnedBytes: number): Promise<boolean> {
    if (pinnedBytes > 0) {
      const yes = await this.confirm({
        title: "Evict pinned data?",
        message: `${what} has ${formatBytes(pinnedBytes)} pinned for offline use. Evicting removes the pins too; reading it again needs the network.`,
        confirmLabel: "Evict",
      });
      if (!yes) return false;
    }
    return this.act(
      `Evicting ${what}`,
      () => this.client.cache.evict(selector),
      (v) => `Evicted ${what}: ${formatBytes(v.removedBytes)} freed`,
    );
  }

  async clear(): Promise<boolean> {
    const u = this.usage;
    const yes = await this.confirm({
      title: "Clear the whole cache?",
      message: `Everything cached${u ? ` (${formatBytes(u.totalBytes)}${u.pinnedBytes ? `, ${formatBytes(u.pinnedBytes)} of it pinned` : ""})` : ""} is removed, pins included, for the app and the command line. Remote datasets then read from the network again.`,
      confirmLabel: "Clear cache",
    });
    if (!yes) return false;
    return this.act(
      "Clearing the cache",
      () => this.client.cache.clear({}),
      (v) => `Cleared the cache: ${formatBytes(v.removedBytes)} freed`,
    );
  }

  /** Starts a pin job and follows it: usage is read every `intervalMs` while it runs, and once it ends. */
  async pin(request: CachePinRequest, what: string): Promise<JobEvent | null> {
    if (this.pinJobId) return null;
    this.error = null;
    this.notice = null;
    const r = await this.client.cache.pin(request);
    if (!r.ok) {
      this.error = r.error;
      return null;
    }
    const jobId = r.value.jobId;
    this.pinJobId = jobId;
    this.lastPin = null;
    this.poll(jobId);
    try {
      const end = await this.jobs.wait(jobId);
      this.lastPin = end;
      if (end.state === "done")
        this.notice = `Pinned ${what}: ${formatBytes((end.result as { pins: { bytes: number }[] } | undefined)?.pins.reduce((s, p) => s + p.bytes, 0) ?? 0)} kept for offline use`;
      else if (end.error) this.error = end.error;
      return end;
    } finally {
      this.pinJobId = null;
      this.clearTimer();
      await this.refresh();
    }
  }

  async cancelPin(): Promise<void> {
    if (this.pinJobId) await this.jobs.cancel(this.pinJobId);
  }

  dismiss(): void {
    this.error = null;
    this.notice = null;
  }

  /** Stops polling (panel teardown, tests). */
  dispose(): void {
    this.disposed = true;
    this.clearTimer();
  }

  private poll(jobId: string): void {
    this.clearTimer();
    this.timer = setTimeout(async () => {
      this.timer = null;
      if (this.disposed || this.pinJobId !== jobId) return;
      await this.refresh();
      if (!this.disposed && this.pinJobId === jobId) this.poll(jobId);
    }, this.intervalMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async act<T>(label: string, run: () => Promise<Result<T>>, done: (value: T) => string): Promise<boolean> {
    if (this.busy) return false;
    this.busy = label;
    this.error = null;
    this.notice = null;
    try {
      const r = await run();
      if (r.ok) this.notice = done(r.value);
      else this.error = r.error;
      return r.ok;
    } finally {
      this.busy = null;
      await this.refresh();
    }
  }
}
