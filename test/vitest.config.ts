import { svelte } from "@sveltejs/vite-plugin-svelte";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export default defineConfig({
  root,
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], globalSetup: ["test/unit/build-main.setup.ts", "test/fixtures/s3/rgw.setup.ts"] },
      },
      {
        // Renderer stores are .svelte.ts (runes): compiled by the Svelte plugin, with Svelte's browser build.
        extends: true,
        plugins: [svelte({ configFile: path.join(root, "renderer", "svelte.config.js") })],
        resolve: { conditions: ["browser"] },
        test: { name: "renderer", include: ["test/renderer/**/*.test.ts"] },
      },
    ],
  },
});
