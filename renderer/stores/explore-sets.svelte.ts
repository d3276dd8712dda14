/**
 * Cell sets of the open dataset, held in main (where SQL sees them as `cell_sets`): the list with sizes, making
 * them (from a selection, a category, a query result, set algebra or a CSV), renaming, deleting and exporting.
 */
import type { CellSetInfo, CellSetSource, Client } from "../../shared/ipc/contract";
import type { AppError } from "../../shared/result";
import type { AskConfirm } from "./confirm";
import { exportAskingToReplace } from "./export-replace";
import { idsFromBytes } from "./explore-data";
import type { AskPath } from "./paths";

export type SetOp = "union" | "intersection" | "difference";

const OP_SIGN: Record<SetOp, string> = { union: "∪", intersection: "∩", difference: "−" };

/** The name an algebra result gets by default: "A ∪ B", "A − B − C". */
export function algebraName(op: SetOp, names: string[]): string {
  return names.join(` ${OP_SIGN[op]} `).slice(0, 128);
}

export class CellSets {
  list = $state.raw<CellSetInfo[]>([]);
  /** Sets ticked for union / intersection / difference, in the order they were ticked. */
  picked = $state.raw<string[]>([]);
  notice = $state<string | null>(null);
  private seq = 0;
  private listeners: ((datasetId: string, sets: CellSetInfo[]) => void)[] = [];

  constructor(
    private readonly client: Client,
    private readonly datasetId: () => string | null,
    private readonly askPath: AskPath,
    private readonly confirm: AskConfirm,
    private readonly fail: (e: AppError) => void,
  ) {}

  /** Called with main's sets each time they are read again (after every change made here). */
  listen(fn: (datasetId: string, sets: CellSetInfo[]) => void): () => void {
    this.listeners = [...this.listeners, fn];
    return () => (this.listeners = this.listeners.filter((l) => l !== fn));
  }

  reset(): void {
    this.seq++;
    this.list = [];
    this.picked = [];
    this.notice = null;
  }

  async refresh(): Promise<void> {
    const datasetId = this.datasetId();
    if (!datasetId) return;
    const seq = ++this.seq;
    const r = await this.client.explore.listSets({ datasetId });
    if (seq !== this.seq || datasetId !== this.datasetId()) return;
    if (r.ok) {
      this.list = r.value;
      this.picked = this.picked.filter((n) => r.value.some((s) => s.name === n));
      for (const l of this.listeners) l(datasetId, r.value);
    } else this.fail(r.error);
  }

  /** A free name like "base", "base 2", ... */
  freeName(base: string): string {
    const taken = this.list.map((s) => s.name);
    if (!taken.includes(base)) return base;
    for (let k = 2; ; k++) if (!taken.includes(`${base} ${k}`)) return `${base} ${k}`;
  }

  /** Defines a set; asks before replacing one of the same name. Null when it failed or the user said no. */
  async define(name: string, from: CellSetSource): Promise<CellSetInfo | null> {
    const datasetId = this.datasetId();
    const clean = name.trim();
    if (!datasetId || !clean) return null;
    let r = await this.client.explore.defineSet({ datasetId, name: clean, from });
    if (!r.ok && r.error.code === "EXPLORE_SET_EXISTS") {
      const yes = await this.confirm({
        title: `Replace the cell set "${clean}"?`,
        message: "A cell set of that name exists. Its cells are replaced.",
        confirmLabel: "Replace",
      });
      if (!yes) return null;
      r = await this.client.explore.defineSet({ datasetId, name: clean, from, replace: true });
    }
    if (!r.ok) {
      this.fail(r.error);
      return null;
    }
    this.notice = `Cell set "${r.value.name}": ${r.value.size.toLocaleString("en-US")} cells`;
    await this.refresh();
    return r.value;
  }

  fromResult(name: string, resultId: string): Promise<CellSetInfo | null> {
    return this.define(name, { kind: "result", resultId });
  }

  fromCategory(name: string, column: string, values: (string | null)[]): Promise<CellSetInfo | null> {
    return this.define(name, { kind: "category", column, values });
  }

  togglePick(name: string): void {
    this.picked = this.picked.includes(name) ? this.picked.filter((n) => n !== name) : [...this.picked, name];
  }

  /** Union, intersection or difference (the first ticked minus the others) of the ticked sets, as a new set. */
  async combine(op: SetOp, name?: string): Promise<CellSetInfo | null> {
    const sets = this.picked.slice();
    if (sets.length < 2) return null;
    const made = await this.define(name ?? this.freeName(algebraName(op, sets)), { kind: "algebra", op, sets });
    if (made) this.picked = [];
    return made;
  }

  async rename(name: string, newName: string): Promise<boolean> {
    const datasetId = this.datasetId();
    const clean = newName.trim();
    if (!datasetId || !clean || clean === name) return false;
    const r = await this.client.explore.renameSet({ datasetId, name, newName: clean });
    if (!r.ok) {
      this.fail(r.error);
      return false;
    }
    this.picked = this.picked.map((n) => (n === name ? clean : n));
    await this.refresh();
    return true;
  }

  async remove(name: string): Promise<void> {
    const datasetId = this.datasetId();
    if (!datasetId) return;
    const r = await this.client.explore.deleteSet({ datasetId, name });
    if (!r.ok) this.fail(r.error);
    this.picked = this.picked.filter((n) => n !== name);
    await this.refresh();
  }

  /** The set's cell_integer_ids (sorted), or null when it failed. */
  async members(name: string): Promise<Int32Array | null> {
    const datasetId = this.datasetId();
    if (!datasetId) return null;
    const r = await this.client.explore.getSet({ datasetId, name });
    if (!r.ok) {
      this.fail(r.error);
      return null;
    }
    return idsFromBytes(r.value.ids);
  }

  /** Writes the set's cell_ids as CSV where the user says; asks before replacing a file. */
  async exportCsv(name: string, initialDir = "~"): Promise<string | null> {
    const datasetId = this.datasetId();
    if (!datasetId) return null;
    const path = await this.askPath("save", `Export the cell set "${name}" as CSV`, `${initialDir}/${fileStem(name)}.csv`, "Export");
    if (!path) return null;
    const req = { datasetId, name, path };
    const r = await exportAskingToReplace(
      path,
      (overwrite) => this.client.explore.exportSetCsv(overwrite ? { ...req, overwrite } : req),
      (target) =>
        this.confirm({
          title: `Replace ${target}?`,
          message: "A file of that name exists. Replacing it overwrites its contents.",
          confirmLabel: "Replace",
        }),
    );
    if (!r) return null;
    if (!r.ok) {
      this.fail(r.error);
      return null;
    }
    this.notice = `Exported ${r.value.cells.toLocaleString("en-US")} cell ids to ${r.value.path}`;
    return r.value.path;
  }

  /** Makes a set from a CSV of cell_ids the user picks; the set is named after the file. */
  async importCsv(initialDir = "~"): Promise<CellSetInfo | null> {
    const datasetId = this.datasetId();
    if (!datasetId) return null;
    const path = await this.askPath("file", "Import a cell set from a CSV of cell_id", `${initialDir}/`, "Import");
    if (!path) return null;
    const name = this.freeName(path.replace(/^.*[/\\]/, "").replace(/\.csv$/i, "") || "imported");
    const r = await this.client.explore.importSetCsv({ datasetId, name, path });
    if (!r.ok) {
      this.fail(r.error);
      return null;
    }
    const unknown = r.value.unknown
      ? ` (${r.value.unknown.toLocaleString("en-US")} ids not in this dataset, e.g. ${r.value.unknownExamples.slice(0, 3).join(", ")})`
      : "";
    this.notice = `Cell set "${r.value.name}": ${r.value.size.toLocaleString("en-US")} cells${unknown}`;
    await this.refresh();
    return r.value;
  }

  dismissNotice(): void {
    this.notice = null;
  }
}

function fileStem(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "cell_set";
}
