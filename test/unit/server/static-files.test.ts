import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRendererFile } from "../../../main/server/static-files";
import { tempDir } from "../../fixtures/slaf-fixture";

let dir: string;
let root: string;

beforeAll(async () => {
  dir = await tempDir();
  root = path.join(dir, "renderer");
  await fs.mkdir(path.join(root, "assets"), { recursive: true });
  await fs.writeFile(path.join(root, "index.html"), "<!doctype html><title>app</title>");
  await fs.writeFile(path.join(root, "assets", "app.js"), "console.log(1)");
  await fs.writeFile(path.join(dir, "secret.txt"), "do not serve");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("resolveRendererFile (browser server and Electron protocol)", () => {
  it("serves assets with their type, and the page with the CSP", async () => {
    expect(await resolveRendererFile(root, "/assets/app.js")).toMatchObject({
      file: path.join(root, "assets", "app.js"),
      contentType: expect.stringMatching(/^text\/javascript/),
    });
    const page = await resolveRendererFile(root, "/");
    expect(page?.file).toBe(path.join(root, "index.html"));
    expect(page?.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(page?.headers["content-security-policy"]).toContain("object-src 'none'");
  });

  it("never leaves the renderer folder", async () => {
    for (const p of ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/..%2Fsecret.txt"]) {
      expect((await resolveRendererFile(root, p))?.file, p).toBe(path.join(root, "index.html"));
    }
  });

  it("answers nothing for a malformed escape instead of throwing", async () => {
    expect(await resolveRendererFile(root, "/%E0%A4%A")).toBeNull();
  });
});
