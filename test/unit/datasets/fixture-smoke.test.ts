import fs from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { tempDir, writePbmcSlaf } from "../../fixtures/slaf-fixture";
import path from "node:path";

describe("fixture", () => {
  it("writes pbmc", async () => {
    const dir = await tempDir();
    const root = path.join(dir, "pbmc.slaf");
    await writePbmcSlaf(root);
    const config = JSON.parse(await fs.readFile(path.join(root, "config.json"), "utf8"));
    expect(config.metadata.expression_count).toBe(151815);
    console.log(await fs.readdir(root), await fs.readdir(path.join(root, "expression.lance")));
    await fs.rm(dir, { recursive: true });
  });
});
