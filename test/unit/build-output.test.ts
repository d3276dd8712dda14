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
  it("every worker and child entry of dist/main is unpacked from the desktop archive (a worker cannot start from inside it)", async () => {
    const entries = (await fs.readdir(path.join(PROJECT_ROOT, "dist", "main"))).filter((f) => f.endsWith(".mjs") && f !== "cli.mjs");
    expect(entries.length).toBeGreaterThanOrEqual(4);
    const builder = await fs.readFile(path.join(PROJECT_ROOT, "electron-builder.yml"), "utf8");
    for (const f of entries) expect(builder, `electron-builder.yml asarUnpack lacks dist/main/${f}`).toContain(`  - dist/main/${f}\n`);
  });

  it("contain no benchmark and import no dev-only package", async () => {
    const bundles = (await files(path.join(PROJECT_ROOT, "dist"))).filter((f) => /\.(m|c)?js$/.test(f) && !f.includes(`${path.sep}renderer${path.sep}`));
    expect(bundles.map((f) => path.relative(PROJECT_ROOT, f)).sort()).toEqual(
      expect.arrayContaining([
        "dist/main/cli.mjs",
        "dist/main/convert-worker.mjs",
        "dist/main/loader-worker.mjs",
        "dist/main/query-scan-worker.mjs",
        "dist/main/gene-index-child.mjs",
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
