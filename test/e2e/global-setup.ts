import fs from "node:fs/promises";
import path from "node:path";
import { tempDir, writePbmcSlaf } from "../fixtures/slaf-fixture";
import { startCliServer } from "./server";

/** Fixtures (real PBMC data as SLAF, a larger table, broken datasets) and one server for the whole run. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const dir = await tempDir("slafwb-e2e-");
  const pbmc = path.join(dir, "pbmc3k.slaf");
  const big = path.join(dir, "pbmc-1200.slaf");
  await writePbmcSlaf(pbmc);
  await writePbmcSlaf(big, { nCells: 1200, cellsPerChunk: 400 });
  const noConfig = path.join(dir, "no-config.slaf");
  await fs.mkdir(noConfig);
  const badJson = path.join(dir, "bad-json.slaf");
  await fs.cp(pbmc, badJson, { recursive: true });
  await fs.writeFile(path.join(badJson, "config.json"), '{"format_version": "0.5", "tables": ');

  const userData = path.join(dir, "user-data");
  const server = await startCliServer([], { SLAFWB_USER_DATA: userData });
  Object.assign(process.env, {
    E2E_DIR: dir,
    E2E_URL: server.url,
    E2E_PBMC: pbmc,
    E2E_BIG: big,
    E2E_NO_CONFIG: noConfig,
    E2E_BAD_JSON: badJson,
    E2E_USER_DATA: userData,
  });
  return async () => {
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  };
}
