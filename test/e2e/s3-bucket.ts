/**
 * The real local S3 server of an S3 spec (radosgw, or SLAFWB_TEST_S3_ENDPOINT's), with the PBMC fixture uploaded
 * to a bucket of its own: started before the spec's tests (call this before `useAppServer`, whose environment may
 * name it) and stopped after them. Skips the spec when there is no S3 server (SLAFWB_SKIP_S3=1).
 */
import fs from "node:fs/promises";
import os from "node:os";
import { test } from "@playwright/test";
import { s3Available, s3TestServerIn, stopRunRgw, type S3TestServer } from "../fixtures/s3/rgw-server";
import { env } from "./helpers";

const RGW_START_MS = 200_000;

export interface S3Bucket {
  readonly server: S3TestServer;
  readonly bucket: string;
  /** `s3://<bucket>/<prefix>`: the uploaded dataset. */
  readonly uri: string;
}

export function useS3Bucket(prefix: string): S3Bucket {
  const run = s3Available();
  let runDir: string | null = null;
  let server: S3TestServer | null = null;
  let bucket = "";
  test.skip(!run, "no S3 server (SLAFWB_SKIP_S3=1)");
  test.beforeAll(async () => {
    if (!run) return;
    test.setTimeout(RGW_START_MS);
    runDir = await fs.mkdtemp(`${os.tmpdir()}/slafwb-e2e-rgw-`);
    server = await s3TestServerIn(() => runDir as string);
    bucket = await server.bucket();
    await server.client.uploadDir(env("E2E_PBMC"), bucket, prefix);
  });
  test.afterAll(async () => {
    await server?.close();
    // Only a radosgw this spec started is stopped (SLAFWB_TEST_S3_ENDPOINT's server is not ours).
    if (runDir) {
      await stopRunRgw(runDir);
      await fs.rm(runDir, { recursive: true, force: true });
    }
  });
  return {
    get server() {
      if (!server) throw new Error("The S3 server is not running: useS3Bucket() starts it in beforeAll");
      return server;
    },
    get bucket() {
      return bucket;
    },
    get uri() {
      return `s3://${bucket}/${prefix}`;
    },
  };
}
