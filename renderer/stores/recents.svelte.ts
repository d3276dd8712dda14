/** Recently opened datasets, kept in the page's localStorage (per browser profile / per desktop install). */
const KEY = "slafwb.recent";
const MAX = 8;

export interface Recent {
  uri: string;
  name: string;
  openedAt: number;
}

function load(): Recent[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) ?? "[]") as unknown;
    return Array.isArray(parsed) ? (parsed as Recent[]).filter((r) => typeof r?.uri === "string") : [];
  } catch {
    return [];
  }
}

class Recents {
  items = $state<Recent[]>(load());

  add(uri: string, name: string): void {
    this.items = [{ uri, name, openedAt: Date.now() }, ...this.items.filter((r) => r.uri !== uri)].slice(0, MAX);
    localStorage.setItem(KEY, JSON.stringify(this.items));
  }

  remove(uri: string): void {
    this.items = this.items.filter((r) => r.uri !== uri);
    localStorage.setItem(KEY, JSON.stringify(this.items));
  }
}

export const recents = new Recents();
