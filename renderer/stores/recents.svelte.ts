/**
 * Recently opened datasets, kept in the page's localStorage (per browser profile / per desktop install). Local
 * folders and remote URIs (hf://, s3://) are listed apart and each keeps its own last few, so opening many remote
 * datasets never pushes the folders out.
 */
import { isRemoteUri } from "./remote-uri";

const KEY = "slafwb.recent";
const MAX_PER_KIND = 8;

export interface Recent {
  uri: string;
  name: string;
  openedAt: number;
}

/** The part of the Web Storage API used here (localStorage in the app, a Map in tests). */
export type RecentStorage = Pick<Storage, "getItem" | "setItem">;

function load(storage: RecentStorage): Recent[] {
  try {
    const parsed = JSON.parse(storage.getItem(KEY) ?? "[]") as unknown;
    return Array.isArray(parsed) ? (parsed as Recent[]).filter((r) => typeof r?.uri === "string" && typeof r?.name === "string") : [];
  } catch {
    return [];
  }
}

export class Recents {
  /** Newest first, local and remote together. */
  items = $state<Recent[]>([]);

  constructor(private readonly storage: RecentStorage) {
    this.items = load(storage);
  }

  get local(): Recent[] {
    return this.items.filter((r) => !isRemoteUri(r.uri));
  }

  get remote(): Recent[] {
    return this.items.filter((r) => isRemoteUri(r.uri));
  }

  add(uri: string, name: string): void {
    const rest = this.items.filter((r) => r.uri !== uri);
    const remote = isRemoteUri(uri);
    const same = rest.filter((r) => isRemoteUri(r.uri) === remote).slice(0, MAX_PER_KIND - 1);
    const other = rest.filter((r) => isRemoteUri(r.uri) !== remote).slice(0, MAX_PER_KIND);
    this.save([{ uri, name, openedAt: Date.now() }, ...same, ...other].sort((a, b) => b.openedAt - a.openedAt));
  }

  remove(uri: string): void {
    this.save(this.items.filter((r) => r.uri !== uri));
  }

  private save(items: Recent[]): void {
    this.items = items;
    try {
      this.storage.setItem(KEY, JSON.stringify(items));
    } catch {
      // Storage full or disabled (private windows): the list still works for this page.
    }
  }
}
