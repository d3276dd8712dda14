/**
 * The Hub's read API as the gateway answers it: revisions resolved to a commit sha once and pinned, then repo
 * info, tree listings (all pages fetched upstream, one complete listing served) and paths-info cached per sha on
 * disk, and file reads through the block cache. Offline, only the cache answers.
 */
import type { CachedDoc, HubDiskCache } from "./disk-cache";
import type { Counters } from "./counters";
import { GatewayError } from "./errors";
import { repoKey, SHA, type RepoId } from "./hub-routes";
import { hubAnswerError, type RemoteFiles } from "./remote-files";
import { header, type Upstream } from "./upstream";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

export interface Answer {
  doc: CachedDoc;
  fromCache: boolean;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function apiBase(repo: RepoId): string {
  return `/api/datasets/${enc(repo.owner)}/${enc(repo.name)}`;
}

function nextLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return null;
}

/** The `paths` and `expand` of a paths-info body: form fields (`paths=a&paths=b&expand=True`) or JSON. */
export function parsePathsInfoBody(body: string, contentType: string | undefined): { paths: string[]; expand: boolean } | null {
  if (contentType?.includes("application/json")) {
    try {
      const parsed = JSON.parse(body) as { paths?: unknown; expand?: unknown };
      if (!Array.isArray(parsed.paths) || !parsed.paths.every((p) => typeof p === "string")) return null;
      return { paths: parsed.paths as string[], expand: parsed.expand === true };
    } catch {
      return null;
    }
  }
  const form = new URLSearchParams(body);
  const expand = form.getAll("expand");
  return { paths: form.getAll("paths"), expand: expand.length > 0 && /^(true|1)$/i.test(expand[expand.length - 1]) };
}

export class HubService {
  /** `owner/name@rev` → sha: pinned at open (`pin`) or on first sight of a revision that is not a sha. */
  private readonly pins = new Map<string, string>();
  private readonly resolving = new Map<string, Promise<string>>();

  constructor(
    readonly cache: HubDiskCache,
    readonly upstream: Upstream,
    readonly files: RemoteFiles,
    private readonly counters: Counters,
    private readonly isOffline: () => boolean,
  ) {}

  private offline(what: string): GatewayError {
    return new GatewayError("OfflineNotCached", `Offline, and ${what} is not in the local cache`);
  }

  /**
   * The commit sha of a revision. A sha is itself; a branch or tag is resolved online once and then kept (or,
   * with `refresh`, resolved again: what opening a dataset does). Offline, the sha last resolved online is used.
   */
  async resolveSha(repo: RepoId, rev: string, opts: { refresh?: boolean } = {}): Promise<string> {
    if (SHA.test(rev)) return rev;
    const key = `${repoKey(repo)}@${rev}`;
    if (!opts.refresh) {
      const pinned = this.pins.get(key);
      if (pinned) return pinned;
    }
    if (this.isOffline()) {
      const sha = this.pins.get(key) ?? (await this.cache.readRef(repo, rev));
      if (!sha) throw this.offline(`revision "${rev}" of ${repoKey(repo)} (it was never opened online)`);
      this.pins.set(key, sha);
      return sha;
    }
    let pending = this.resolving.get(key);
    if (!pending) {
      pending = this.fetchRevision(repo, rev).finally(() => this.resolving.delete(key));
      this.resolving.set(key, pending);
    }
    return pending;
  }

  private async fetchRevision(repo: RepoId, rev: string): Promise<string> {
    const what = `revision "${rev}" of ${repoKey(repo)}`;
    const res = await this.upstream.retrying(what, () => this.upstream.document("api", `${apiBase(repo)}/revision/${enc(rev)}`));
    if (res.status !== 200) throw hubAnswerError(res.status, res.headers, `Opening ${what}`, res.body);
    let sha: unknown;
    try {
      sha = (JSON.parse(res.body) as { sha?: unknown }).sha;
    } catch {
      sha = null;
    }
    if (typeof sha !== "string" || !SHA.test(sha)) throw new GatewayError("UpstreamInvalid", `The Hub's answer for ${what} has no commit sha`);
    await this.cache.writeDoc(repo, sha, "revision-info", { status: 200, headers: JSON_HEADERS, body: res.body });
    await this.cache.writeRef(repo, rev, sha);
    this.pins.set(`${repoKey(repo)}@${rev}`, sha);
    return sha;
  }

  /** `GET /api/datasets/<repo>/revision/<rev>` */
  async revisionInfo(repo: RepoId, rev: string): Promise<Answer> {
    const sha = await this.resolveSha(repo, rev);
    const cached = await this.cache.readDoc(repo, sha, "revision-info");
    if (cached) return { doc: cached, fromCache: true };
    if (this.isOffline()) throw this.offline(`the description of ${repoKey(repo)} at ${sha.slice(0, 8)}`);
    const res = await this.upstream.retrying(`the description of ${repoKey(repo)}`, () => this.upstream.document("api", `${apiBase(repo)}/revision/${sha}`));
    if (res.status !== 200) throw hubAnswerError(res.status, res.headers, `Reading ${repoKey(repo)} at ${sha.slice(0, 8)}`, res.body);
    const doc = { status: 200, headers: JSON_HEADERS, body: res.body };
    await this.cache.writeDoc(repo, sha, "revision-info", doc);
    return { doc, fromCache: false };
  }

  /**
   * `GET /api/datasets/<repo>`: Lance reads only the canonical `id` from it, so a description of any pinned
   * commit answers it, else the one cached for the repo, else the Hub once.
   */
  async repoInfo(repo: RepoId): Promise<Answer> {
    for (const [key, sha] of this.pins) {
      if (!key.startsWith(`${repoKey(repo)}@`)) continue;
      const doc = await this.cache.readDoc(repo, sha, "revision-info");
      if (doc) return { doc, fromCache: true };
    }
    const cached = await this.cache.readDoc(repo, null, "repo-info");
    if (cached) return { doc: cached, fromCache: true };
    if (this.isOffline()) throw this.offline(`the description of ${repoKey(repo)}`);
    const res = await this.upstream.retrying(`the description of ${repoKey(repo)}`, () => this.upstream.document("api", apiBase(repo)));
    if (res.status !== 200) throw hubAnswerError(res.status, res.headers, `Opening ${repoKey(repo)}`, res.body);
    const doc = { status: 200, headers: JSON_HEADERS, body: res.body };
    await this.cache.writeDoc(repo, null, "repo-info", doc);
    return { doc, fromCache: false };
  }

  /** `GET /api/datasets/<repo>/tree/<rev>/<path>`: every page, cached per sha; a missing folder's 404 too. */
  async tree(repo: RepoId, rev: string, path: string, recursive: boolean, expand: boolean): Promise<Answer> {
    const sha = await this.resolveSha(repo, rev);
    const key = `tree\n${recursive}\n${expand}\n${path}`;
    const cached = await this.cache.readDoc(repo, sha, key);
    if (cached) return { doc: cached, fromCache: true };
    const what = `the listing of ${path || "/"} in ${repoKey(repo)} at ${sha.slice(0, 8)}`;
    if (this.isOffline()) throw this.offline(what);
    const query = [expand ? "expand=True" : "", recursive ? "recursive=True" : ""].filter(Boolean).join("&");
    let url: URL = this.upstream.url(`${apiBase(repo)}/tree/${sha}${path ? `/${path.split("/").map(enc).join("/")}` : ""}${query ? `?${query}` : ""}`);
    const entries: unknown[] = [];
    for (;;) {
      const pageUrl = url;
      const res = await this.upstream.retrying(what, () => this.upstream.document("tree", pageUrl));
      if (res.status === 404 && header(res.headers, "x-error-code") === "EntryNotFound") {
        const doc = {
          status: 404,
          headers: { ...JSON_HEADERS, "x-error-code": "EntryNotFound", "x-error-message": `${path} does not exist at ${sha}` },
          body: res.body,
        };
        await this.cache.writeDoc(repo, sha, key, doc);
        return { doc, fromCache: false };
      }
      if (res.status !== 200) throw hubAnswerError(res.status, res.headers, `Listing ${path || "/"} of ${repoKey(repo)}`, res.body);
      let page: unknown;
      try {
        page = JSON.parse(res.body);
      } catch {
        page = null;
      }
      if (!Array.isArray(page)) throw new GatewayError("UpstreamInvalid", `The Hub's listing of ${path || "/"} in ${repoKey(repo)} is not a JSON array`);
      entries.push(...page);
      const next = nextLink(header(res.headers, "link"));
      if (!next) break;
      url = new URL(next, res.url);
      if (url.origin !== this.upstream.endpoint.origin)
        throw new GatewayError("UpstreamInvalid", `The Hub's listing of ${path} links to another host (${url.origin})`);
    }
    const doc = { status: 200, headers: JSON_HEADERS, body: JSON.stringify(entries) };
    await this.cache.writeDoc(repo, sha, key, doc);
    return { doc, fromCache: false };
  }

  /** `POST /api/datasets/<repo>/paths-info/<rev>` (form or JSON body), cached per sha and set of paths. */
  async pathsInfo(repo: RepoId, rev: string, body: string, contentType: string | undefined): Promise<Answer> {
    const request = parsePathsInfoBody(body, contentType);
    if (!request) throw new GatewayError("BadRequest", "paths-info takes `paths` as form fields or a JSON array of strings");
    const sha = await this.resolveSha(repo, rev);
    const paths = [...new Set(request.paths)].sort();
    const key = `paths-info\n${request.expand}\n${paths.join("\n")}`;
    const cached = await this.cache.readDoc(repo, sha, key);
    if (cached) return { doc: cached, fromCache: true };
    const what = `the details of ${paths.join(", ")} in ${repoKey(repo)} at ${sha.slice(0, 8)}`;
    if (this.isOffline()) throw this.offline(what);
    const form = new URLSearchParams();
    for (const p of paths) form.append("paths", p);
    if (request.expand) form.append("expand", "True");
    const res = await this.upstream.retrying(what, () =>
      this.upstream.document("tree", `${apiBase(repo)}/paths-info/${sha}`, {
        method: "POST",
        body: form.toString(),
        contentType: "application/x-www-form-urlencoded",
      }),
    );
    if (res.status !== 200) throw hubAnswerError(res.status, res.headers, `Reading details in ${repoKey(repo)}`, res.body);
    const doc = { status: 200, headers: JSON_HEADERS, body: res.body };
    await this.cache.writeDoc(repo, sha, key, doc);
    return { doc, fromCache: false };
  }

  /** Remembers `rev` → `sha` for requests that name the revision instead of the sha. */
  pin(repo: RepoId, rev: string, sha: string): void {
    this.pins.set(`${repoKey(repo)}@${rev}`, sha);
  }

  hit(answer: { fromCache: boolean }, bytes: number): void {
    if (answer.fromCache) {
      this.counters.hits++;
      this.counters.hitBytes += bytes;
    } else this.counters.misses++;
  }
}
