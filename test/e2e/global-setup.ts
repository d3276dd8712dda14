import fs from "node:fs/promises";
import path from "node:path";
import { tempDir, writePbmcSlaf } from "../fixtures/slaf-fixture";

/**
 * Read-only fixtures for the whole run (real PBMC data as SLAF, a larger table, broken datasets). Servers and user
 * data are per spec file (app-server.ts); tests write only into their own spec's folder.
 */
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

  Object.assign(process.env, { E2E_DIR: dir, E2E_PBMC: pbmc, E2E_BIG: big, E2E_NO_CONFIG: noConfig, E2E_BAD_JSON: badJson });
  return async () => {
    await fs.rm(dir, { recursive: true, force: true });
  };
}
