export interface Bench {
  run(): Promise<void>;
}

export const BENCHES: Record<string, () => Promise<Bench>> = {
  scan: () => import("./scan.bench"),
  convert: () => import("./convert.bench"),
  query: () => import("./query.bench"),
  ingest: () => import("./ingest.bench"),
  remote: () => import("./remote.bench"),
  loader: () => import("./loader.bench"),
  sources: () => import("./sources.bench"),
  explore: () => import("./explore.bench"),
  markers: () => import("./markers.bench"),
};
