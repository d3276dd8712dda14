/** Composition of the main-process services; shared by the Electron main and the browser-mode server. */
import path from "node:path";
import type { Api, AppInfo } from "../../shared/ipc/contract";
import { AppService, type PickPath } from "./app";
import { BenchService } from "./bench/service";
import { CacheService } from "./cache/service";
import { ConvertService } from "./convert/service";
import { claimProcessTempDir } from "./convert/stale";
import { createDispatcher, ownersOf, type Dispatcher } from "./dispatch";
import { DatasetService } from "./datasets/service";
import { ExploreService } from "./explore/service";
import { geneIndexMinRows } from "./explore/gene-index";
import type { EmitEvent } from "./events";
import { JobService } from "./jobs/service";
import { LoaderService } from "./loader/service";
import { MarkersService } from "./markers/service";
import { NotebookService } from "./notebooks/service";
import { QueryService } from "./query/service";
import { loaderWorkerPath, resourcePath } from "./resources";
import { defaultSettings, settingsPath, type AppSettings } from "./settings";
import { upstreamHubEndpoint } from "./sources/hub-endpoint";
import { SourcesService, type SourcesOptions } from "./sources/service";
import { fileSecretStore, type SecretStore } from "./secrets/store";
import { SettingsService, type SettingsEnvironment } from "./settings-service";

export interface ServiceOptions {
  info: AppInfo;
  emit: EmitEvent;
  pickPath?: PickPath | null;
  /** Run conversions in this worker bundle (the app does; unit tests may run them inline). */
  convertWorker?: string | null;
  /** The dataloader prefetch worker bundle (default: dist/main/loader-worker.mjs; there is no inline mode). */
  loaderWorker?: string;
  /** From `<userDataDir>/settings.json` (loadSettings) plus command-line flags; defaults when absent. */
  settings?: AppSettings;
  /** Remote sources: start offline, or other gateway options (tests point hubEndpoint at a fake Hub). */
  sources?: Partial<SourcesOptions>;
  /** Where secrets are kept: the desktop passes its safeStorage store; else a private file in user data. */
  secretStore?: SecretStore;
  /** HF_ENDPOINT / HF_TOKEN as the environment gave them (tests); read from the environment when absent. */
  environment?: SettingsEnvironment;
}

export interface Services {
  api: Api;
  datasets: DatasetService;
  jobs: JobService;
  query: QueryService;
  convert: ConvertService;
  notebooks: NotebookService;
  sources: SourcesService;
  settings: SettingsService;
  cache: CacheService;
  loader: LoaderService;
  bench: BenchService;
  explore: ExploreService;
  markers: MarkersService;
  /** The door every page's call comes through (argument checks, per-page holdings). */
  dispatcher: Dispatcher;
  /** Start-up housekeeping: this process's own temp folder, and leftovers of conversions killed earlier removed. */
  housekeeping(): Promise<string[]>;
  dispose(): Promise<void>;
}

export function createServices(options: ServiceOptions): Services {
  const userDataDir = options.info.userDataDir;
  const jobs = new JobService((event) => options.emit("job", event));
  const settings = options.settings ?? defaultSettings();
  const sources = new SourcesService({
    cacheDir: path.join(userDataDir, "cache"),
    hubEndpoint: upstreamHubEndpoint(settings.hub.endpoint),
    hfToken: () => settingsService.hfToken(),
    ...options.sources,
  });
  const settingsService: SettingsService = new SettingsService({
    userDataDir,
    secrets: options.secretStore ?? fileSecretStore(userDataDir),
    inUse: { hubEndpoint: sources.options.hubEndpoint, allowedDirectories: settings.sql.allowedDirectories },
    environment: options.environment,
    onHfToken: (token) => sources.setHfToken(token),
  });
  const datasets: DatasetService = new DatasetService({
    ensureDemo: () => convert.ensureDemo(),
    gateway: () => sources.gateway(),
    s3Access: () => settingsService.s3Access(),
  });
  const convert = new ConvertService(jobs, {
    userDataDir,
    demoInputDir: resourcePath("demo", "pbmc3k"),
    refuseOutput: (output) => datasets.refuseWriteInside(output, "Cannot convert there"),
    workerFile: options.convertWorker,
  });
  const query = new QueryService(datasets, jobs, {
    tempDir: path.join(userDataDir, "tmp"),
    allowedDirectories: settings.sql.allowedDirectories,
    fileAccessHint: `add the folder in Settings (SQL folders) or to "sql.allowedDirectories" in ${settingsPath(userDataDir)}${options.info.mode === "browser" ? ", or start with --allow-dir FOLDER" : ""}, then restart the app`,
  });
  const notebooks = new NotebookService(options.emit, datasets, { userDataDir });
  const app = new AppService(options.info, options.pickPath ?? null);
  const cache = new CacheService(jobs, { cacheDir: sources.options.cacheDir, gateway: () => sources.gateway(), s3Access: () => settingsService.s3Access() });
  const loader = new LoaderService(datasets, { workerFile: options.loaderWorker ?? loaderWorkerPath() });
  const bench = new BenchService(jobs, {
    userDataDir,
    appVersion: options.info.version,
    deps: {
      gateway: () => sources.gateway(),
      s3Access: () => settingsService.s3Access(),
      isOffline: () => sources.isOffline(),
      workerFile: options.loaderWorker ?? loaderWorkerPath(),
    },
    pausePreviews: () => loader.pauseAll(),
    refuseWriteInside: (target, what) => datasets.refuseWriteInside(target, what),
  });
  const explore = new ExploreService({ datasets, jobs, query, geneIndex: { cacheDir: sources.options.cacheDir, minRows: geneIndexMinRows() } });
  const markers = new MarkersService({ datasets, jobs, explore });
  const api = { app, datasets, jobs, query, convert, notebooks, sources, settings: settingsService, cache, loader, bench, explore, markers };
  return {
    api,
    dispatcher: createDispatcher({ api, owners: ownersOf({ datasets, query, notebooks, jobs, loader, explore, markers }) }),
    datasets,
    jobs,
    query,
    convert,
    notebooks,
    sources,
    settings: settingsService,
    cache,
    loader,
    bench,
    explore,
    markers,
    async housekeeping() {
      claimProcessTempDir();
      return convert.cleanStale();
    },
    async dispose() {
      await jobs.settleAll();
      notebooks.dispose();
      await loader.dispose();
      await query.dispose();
      await datasets.closeAll();
    },
  };
}
