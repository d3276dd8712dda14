/** What the desktop package ships (dist/, built by main/build.mjs in the global setup) holds no dev-only code. */
import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../fixtures/pbmc";

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(full)));
    else out.push(full);
  }
  return out;
}

describe("the shipped bundles", () => {
  it("contain no benchmark and import no dev-only package", async () => {
    const bundles = (await files(path.join(PROJECT_ROOT, "dist"))).filter((f) => /\.(m|c)?js$/.test(f) && !f.includes(`${path.sep}renderer${path.sep}`));
    expect(bundles.map((f) => path.relative(PROJECT_ROOT, f)).sort()).toEqual(
      expect.arrayContaining([
        "dist/main/cli.mjs",
        "dist/main/convert-worker.mjs",
        "dist/main/loader-worker.mjs",
        "dist/electron/main.mjs",
        "dist/preload/index.cjs",
      ]),
    );
    expect(bundles.some((f) => /bench/.test(path.basename(f)))).toBe(false);
    const pkg = JSON.parse(await fs.readFile(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => !(d in pkg.dependencies) && d !== "electron");
    for (const file of bundles) {
      const text = await fs.readFile(file, "utf8");
      for (const dep of devOnly)
        expect(text.includes(`from "${dep}"`) || text.includes(`require("${dep}")`), `${path.relative(PROJECT_ROOT, file)} imports ${dep}`).toBe(false);
    }
  });
});
