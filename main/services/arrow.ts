/**
 * apache-arrow as LanceDB sees it. LanceDB is CommonJS and builds its tables from apache-arrow's CJS build;
 * the ESM build has different classes (instanceof fails, tableToIPC writes bytes other readers reject). So
 * every Node module takes Arrow from here, never from `import "apache-arrow"`.
 */
import { createRequire } from "node:module";
import type * as Arrow from "apache-arrow";

const require = createRequire(import.meta.url);
export const arrow = require("apache-arrow") as typeof Arrow;

/** Lance scans use large batches: the default 1024-row batches cost ~10x in throughput. */
export const SCAN_BATCH_ROWS = 131_072;
