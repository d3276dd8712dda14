/** The cell sets of one dataset, in definition order, mirrored into SQL's `cell_sets` table. */
import type { CellSetInfo } from "../../../shared/ipc/contract";
import { fail } from "../errors";
import type { CellSetsTable } from "./cell-sets-table";

export interface StoredSet {
  name: string;
  /** Sorted ascending, no repeats. */
  ids: Int32Array;
  version: number;
}

let nextVersion = 1;

export class CellSetStore {
  private sets = new Map<string, StoredSet>();

  constructor(readonly table: CellSetsTable) {}

  list(): CellSetInfo[] {
    return [...this.sets.values()].map(info);
  }

  get(name: string): StoredSet {
    const s = this.sets.get(name);
    if (!s) {
      const names = [...this.sets.keys()];
      fail(
        "EXPLORE_SET_NOT_FOUND",
        `No cell set "${name}"${names.length ? `; the sets are ${names.map((n) => `"${n}"`).join(", ")}` : "; this dataset has none yet"}`,
      );
    }
    return s;
  }

  has(name: string): boolean {
    return this.sets.has(name);
  }

  async define(name: string, ids: Int32Array, replace: boolean): Promise<CellSetInfo> {
    const old = this.sets.get(name);
    if (old && !replace) fail("EXPLORE_SET_EXISTS", `A cell set named "${name}" exists; replace it or choose another name`);
    const set: StoredSet = { name, ids, version: nextVersion++ };
    this.sets.set(name, set);
    if (old) await this.table.replace(old.version, old.ids.length, set.version, name, ids);
    else await this.table.add(set.version, name, ids);
    return info(set);
  }

  async rename(name: string, newName: string): Promise<CellSetInfo> {
    const set = this.get(name);
    if (newName === name) return info(set);
    if (this.sets.has(newName)) fail("EXPLORE_SET_EXISTS", `A cell set named "${newName}" exists; choose another name`);
    // Keep the definition order: rebuild the map with the new key in the old place.
    this.sets = new Map([...this.sets].map(([k, v]) => (k === name ? [newName, v] : [k, v])));
    set.name = newName;
    await this.table.rename(set.version, newName);
    return info(set);
  }

  async delete(name: string): Promise<void> {
    const set = this.get(name);
    this.sets.delete(name);
    await this.table.remove(set.version, set.ids.length);
  }

  /** Deletes the set only while it is still the definition `version` (a page giving back what it defined). */
  async deleteVersion(name: string, version: number): Promise<void> {
    if (this.sets.get(name)?.version === version) await this.delete(name);
  }

  /** The current version of a set, or null (QC results remember it). */
  versionOf(name: string): number | null {
    return this.sets.get(name)?.version ?? null;
  }
}

function info(s: StoredSet): CellSetInfo {
  return { name: s.name, size: s.ids.length, version: s.version };
}
