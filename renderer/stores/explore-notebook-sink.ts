/** The Explore view's door to the dataset's notebook: "Send to notebook" and the named results a set can come from. */
import type { Cell } from "../../shared/notebook/model";
import type { NewCell } from "./explore-notebook";
import type { NotebookSink } from "./explore.svelte";
import type { Notebook } from "./notebook";
import type { Workspace } from "./workspace.svelte";

function toCell(c: NewCell): Cell {
  if (c.kind === "sql") return { kind: "sql", id: "", name: c.name, text: c.text };
  if (c.kind === "plot") return { kind: "plot", id: "", source: c.source, spec: c.spec };
  return { kind: "markdown", id: "", text: c.text };
}

export function exploreNotebookSink(notebook: Notebook, workspace: Workspace): NotebookSink {
  return {
    async attach() {
      if (workspace.dataset) await notebook.file.attach(workspace.dataset);
    },
    async send(cells) {
      const dataset = workspace.dataset;
      if (!dataset || !cells.length) return;
      await notebook.file.attach(dataset);
      const ids = notebook.doc.append(cells.map(toCell));
      // Focus the first new query (a focused Markdown cell would open in its editor).
      const firstSql = ids.find((id) => notebook.doc.nb.cells.find((c) => c.id === id)?.kind === "sql");
      if (firstSql) notebook.doc.focusId = firstSql;
      workspace.show({ kind: "notebook" });
      // Run the new SQL cells in order so their plots draw; stop at one that fails or asks first (a large scan).
      for (const id of ids) {
        const cell = notebook.doc.nb.cells.find((c) => c.id === id);
        if (cell?.kind !== "sql") continue;
        await notebook.runs.run(id);
        if (notebook.runs.outputs[id]?.state !== "done") break;
      }
    },
    names() {
      return notebook.doc.nb.cells.flatMap((c) => (c.kind === "sql" && c.name ? [c.name] : []));
    },
    cellResults() {
      return notebook.doc.nb.cells.flatMap((c) => {
        if (c.kind !== "sql" || !c.name) return [];
        const s = notebook.runs.outputs[c.id]?.summary;
        return s && s.columns.some((col) => col.name === "cell_integer_id") ? [{ name: c.name, resultId: s.resultId, rows: s.rowCount }] : [];
      });
    },
  };
}
