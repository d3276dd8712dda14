/**
 * The open notebook's content: its cells and frontmatter (shared/notebook/model) and the focused cell. It knows
 * nothing of files or outputs; the file sync and the run state listen to it.
 */
import {
  emptyNotebook,
  insertCell,
  insertCellAfter,
  moveCellBy,
  newCell,
  removeCell,
  updateCell,
  type Cell,
  type CellKind,
  type Notebook,
} from "../../shared/notebook/model";

export interface DocumentListener {
  /** Another document took this one's place (new, opened, reloaded, another dataset): its cells are gone. */
  replaced?(): void;
  /** The user changed the document. */
  edited?(): void;
  removed?(id: string): void;
}

export class NotebookDocument {
  nb = $state<Notebook>(emptyNotebook(null));
  focusId = $state<string | null>(null);
  /** Bumped on every edit, so a save can tell whether the document changed while it was writing. */
  revision = 0;
  private listeners: DocumentListener[] = [];

  listen(listener: DocumentListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }

  /** Swaps in another document. Everything tied to the old cells (outputs, running queries) is dropped by the listeners. */
  replace(nb: Notebook): void {
    this.nb = nb;
    this.focusId = null;
    this.revision++;
    for (const l of this.listeners) l.replaced?.();
  }

  edit(id: string, change: (cell: Cell) => Cell): void {
    this.nb = updateCell(this.nb, id, change);
    this.changed();
  }

  setText(id: string, text: string): void {
    this.edit(id, (c) => (c.kind === "plot" ? c : { ...c, text }));
  }

  add(kind: CellKind, afterId: string | null): string {
    const cell =
      kind === "sql" ? newCell(this.nb, "sql", { text: "SELECT " }) : kind === "plot" ? newCell(this.nb, "plot") : newCell(this.nb, "markdown", { text: "" });
    this.nb = insertCellAfter(this.nb, cell, afterId);
    this.focusId = cell.id;
    this.changed();
    return cell.id;
  }

  /** A change to the whole notebook (cell sets written into it, say), as one edit; no-op when it returns the same notebook. */
  update(change: (nb: Notebook) => Notebook): void {
    const next = change(this.nb);
    if (next === this.nb) return;
    this.nb = next;
    this.changed();
  }

  /** Appends cells at the end (fresh ids) and focuses the first; returns their ids in order. */
  append(cells: Cell[]): string[] {
    const ids: string[] = [];
    for (const cell of cells) {
      this.nb = insertCell(this.nb, { ...cell, id: "" });
      ids.push(this.nb.cells[this.nb.cells.length - 1].id);
    }
    if (ids.length) this.focusId = ids[0];
    this.changed();
    return ids;
  }

  remove(id: string): void {
    this.nb = removeCell(this.nb, id);
    for (const l of this.listeners) l.removed?.(id);
    this.changed();
  }

  move(id: string, delta: number): void {
    this.nb = moveCellBy(this.nb, id, delta);
    this.changed();
  }

  /** The SQL cell named `name`. */
  cellNamed(name: string): Cell | undefined {
    return this.nb.cells.find((c) => c.kind === "sql" && c.name === name);
  }

  private changed(): void {
    this.revision++;
    for (const l of this.listeners) l.edited?.();
  }
}
