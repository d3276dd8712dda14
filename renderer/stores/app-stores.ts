/** The app's stores, wired to the real client (the Electron bridge or the browser-mode WebSocket). */
import { api } from "../api/client";
import { Cache } from "./cache.svelte";
import { appCommands } from "./commands";
import { askConfirm } from "./confirm";
import { Explore } from "./explore.svelte";
import { exploreNotebookSink } from "./explore-notebook-sink";
import { linkCellSetsToNotebook } from "./explore-notebook-sets";
import { Bench } from "./bench.svelte";
import { Jobs } from "./jobs.svelte";
import { Loader } from "./loader.svelte";
import { Markers } from "./markers.svelte";
import { createNotebook } from "./notebook";
import { Paths } from "./paths";
import { plotDataLoader } from "./plot-data";
import { Recents } from "./recents.svelte";
import { Rows } from "./rows";
import { Settings } from "./settings.svelte";
import { Sources } from "./sources.svelte";
import { Workspace } from "./workspace.svelte";

export const paths = new Paths(api);
export const jobs = new Jobs(api);
export const notebook = createNotebook(api, jobs, { askPath: paths.askPath });
export const recents = new Recents(localStorage);
export const workspace = new Workspace(api, notebook.file, recents);
export const sources = new Sources(api);
export const rows = new Rows(api);
export const settings = new Settings(api);
export const cache = new Cache(api, jobs, askConfirm);
export const loader = new Loader(api, paths.askPath, askConfirm);
export const bench = new Bench(api, jobs, paths.askPath, askConfirm);
const notebookSink = exploreNotebookSink(notebook, workspace);
export const explore = new Explore(api, { jobs, askPath: paths.askPath, confirm: askConfirm, notebook: notebookSink });
export const markers = new Markers(api, {
  jobs,
  notebook: notebookSink,
  colourEmbedding: async (datasetId, gene) => {
    workspace.show({ kind: "explore" });
    await explore.colourByGene(datasetId, gene);
  },
});
linkCellSetsToNotebook(api, notebook, explore.sets);
export const loadPlotData = plotDataLoader(api);
export const onAppCommand = appCommands(api);
