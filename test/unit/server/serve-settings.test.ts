/** `serve --allow-dir` and settings.json reach the SQL sandbox of the served app; a wrong folder is refused at start. */
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../../../main/commands/serve";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import { unwrap } from "../../fixtures/result";

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await tempDir("slafwb-serve-settings-");
  root = path.join(dir, "pbmc.slaf");
  await writePbmcSlaf(root);
  for (const d of ["flag", "setting", "neither"]) {
    await fs.mkdir(path.join(dir, d));
    await fs.writeFile(path.join(dir, d, "t.csv"), "x\n1\n2\n");
  }
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("serve's SQL file access", () => {
  it("allows the folders of --allow-dir and of settings.json, and no others", async () => {
    const userData = path.join(dir, "user");
    await fs.mkdir(userData);
    await fs.writeFile(path.join(userData, "settings.json"), JSON.stringify({ sql: { allowedDirectories: [path.join(dir, "setting")] } }));
    const running = await startServe([root, "--port", "0", "--user-data", userData, "--allow-dir", path.join(dir, "flag")]);
    try {
      const { api } = running.services;
      const datasetId = unwrap(await api.datasets.open({ uri: root })).datasetId;
      const count = async (folder: string) => {
        const { jobId } = unwrap(await api.query.start({ datasetId, sql: `SELECT count(*) AS n FROM read_csv('${path.join(dir, folder, "t.csv")}')` }));
        return unwrap(await api.jobs.wait({ jobId }));
      };
      expect((await count("flag")).state).toBe("done");
      expect((await count("setting")).state).toBe("done");
      const refused = await count("neither");
      expect(refused.state).toBe("failed");
      expect(refused.error?.message).toMatch(/SQL cannot read files/);
      expect(refused.error?.message).toContain("--allow-dir");
    } finally {
      await running.stop();
    }
  });

  it("refuses to start with an --allow-dir that is not a folder", async () => {
    await expect(startServe(["--port", "0", "--user-data", path.join(dir, "user2"), "--allow-dir", path.join(dir, "missing")])).rejects.toThrow(
      /is not an existing folder/,
    );
  });
});
