/**
 * A cache on a full disk: the read fails with a named error and the cache keeps only whole, correct entries.
 * The disk is a tiny tmpfs, so this runs where mounting is allowed (root, as in CI containers) and is skipped
 * elsewhere.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isAppFailure } from "../../../shared/result";
import { startGateway } from "../../../main/services/gateway";
import { startFakeHub } from "../../fixtures/fake-hub";
import { checkCachedBlocks, QUICK, request } from "./helpers";

const disk = await fs.mkdtemp(path.join(os.tmpdir(), "slafwb-fulldisk-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=96k", "tmpfs", disk], { stdio: "ignore" });
  mounted = true;
} catch {
  // not allowed here: the test is skipped
}

afterAll(async () => {
  if (mounted) execFileSync("umount", [disk]);
  await fs.rm(disk, { recursive: true, force: true });
});

describe.skipIf(!mounted)("a full cache disk", () => {
  it("fails the read with CacheDiskFull / DISK_FULL and leaves only whole blocks", async () => {
    const hub = await startFakeHub();
    const gateway = await startGateway({ cacheDir: path.join(disk, "cache"), hubEndpoint: hub.url, blockBytes: 16 * 1024, ...QUICK });
    try {
      const bytes = randomBytes(200_000);
      const repoDir = await hub.createRepo("acme/huge");
      await fs.writeFile(path.join(repoDir, "big.bin"), bytes);
      await fs.writeFile(path.join(repoDir, "config.json"), "{}");
      const sha = await hub.commit("acme/huge");
      const url = `${gateway.hfEndpoint}/datasets/acme/huge/resolve/${sha}/big.bin`;

      const full = await request(url, { headers: { range: "bytes=0-163839" } });
      expect(full.status).toBe(507);
      expect(full.headers.get("x-error-code")).toBe("CacheDiskFull");
      expect(full.headers.get("x-error-message")).toMatch(/^No space left on the disk of the cache/);
      const check = await checkCachedBlocks(path.join(disk, "cache"), "acme/huge", async () => bytes);
      expect(check.bad).toEqual([]);
      expect(check.temps).toEqual([]);
      expect(check.blocks).toBeGreaterThan(0);

      // What did fit is served; what does not fit keeps failing by name, never with wrong bytes.
      const part = await request(url, { headers: { range: "bytes=100-16000" } });
      expect(part.body.equals(bytes.subarray(100, 16_001))).toBe(true);
      const pinned = await gateway.pin("hf://datasets/acme/huge");
      const e = await gateway.readFile(pinned, "big.bin", { maxBytes: 1 << 20 }).catch((x: unknown) => x);
      expect(isAppFailure(e) ? e.appError.code : e).toBe("DISK_FULL");
    } finally {
      await gateway.close();
      await hub.close();
    }
  });
});
