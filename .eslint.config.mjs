// Lint, and the layering rules of DESIGN.md as import restrictions.
import js from "@eslint/js";
import svelte from "eslint-plugin-svelte";
import globals from "globals";
import tseslint from "typescript-eslint";

const nodeBuiltins = { group: ["node:*"], message: "No Node built-ins here (see DESIGN.md layering)." };
const electron = { name: "electron", message: "Only main/electron/**, main/index.ts and preload/ may import electron." };

export default tseslint.config(
  { ignores: ["dist/**", "dist-bench/**", "node_modules/**", "test-results/**", ".tmp/**", "playwright-report/**", "**/*.tmp.*", "**/.probe*"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs["flat/recommended"],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["warn", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["warn", { fixStyle: "inline-type-imports" }],
    },
  },
  {
    files: ["**/*.svelte", "**/*.svelte.ts"],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: [".svelte"] }, globals: { ...globals.browser } },
  },
  {
    files: ["shared/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [electron],
          patterns: [
            nodeBuiltins,
            { group: ["**/main/**", "**/renderer/**", "**/preload/**", "@lancedb/*", "apache-arrow", "@duckdb/*"], message: "shared/ imports only shared/." },
          ],
        },
      ],
    },
  },
  {
    files: ["main/**"],
    ignores: ["main/electron/**", "main/index.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [electron], patterns: [{ group: ["**/renderer/**", "**/preload/**"], message: "main/ never imports renderer or preload code." }] },
      ],
    },
  },
  {
    files: ["main/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "ImportDeclaration[source.value='apache-arrow'][importKind!='type']",
          message: "Take Arrow from main/services/arrow.ts (the CJS build LanceDB uses).",
        },
      ],
    },
  },
  {
    files: ["renderer/**"],
    ignores: ["renderer/vite.config.ts", "renderer/svelte.config.js"],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [electron],
          patterns: [
            nodeBuiltins,
            { group: ["**/main/**", "@lancedb/*", "@duckdb/*", "h5wasm*"], message: "The renderer reaches data only through renderer/api/client.ts." },
          ],
        },
      ],
    },
  },
  {
    files: ["renderer/components/**", "renderer/panels/**", "renderer/cells/**", "renderer/App.svelte"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [electron],
          patterns: [
            nodeBuiltins,
            { group: ["**/main/**", "@lancedb/*", "@duckdb/*"], message: "Renderer code never imports main." },
            { group: ["**/api/*", "**/api/**"], message: "Components reach main only through stores (DESIGN.md layering)." },
          ],
        },
      ],
    },
  },
);
