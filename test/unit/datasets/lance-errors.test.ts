import { describe, expect, it } from "vitest";
import { classifyLanceError, fileInLanceMessage, lanceTableFailure, stripRustLocations } from "../../../main/services/datasets/lance-errors";
import { AppFailure } from "../../../shared/result";

// Messages as @lancedb/lancedb 0.39 (Lance 12) printed them for damaged tables of a PBMC fixture.
const TRUNCATED =
  "Failed to get next batch from stream: lance error: LanceError(IO): Generic LocalFileSystem error: failed to fill whole buffer, /rustc/2d8144b7880597b6e6d3dfd63a9a9efae3f533d3/library/core/src/ops/function.rs:250:5";
const MISSING =
  "Failed to get next batch from stream: lance error: Not found: tmp/x/pbmc.slaf/cells.lance/data/1110001000001110011100118c21af46e8a186b14a75a92734.lance, /usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lance-io-12.0.0/src/local.rs:273:40";
const BAD_MAGIC = "Failed to get next batch from stream: Invalid input, file does not appear to be a Lance file (invalid magic: [76, 65, 78, 67])";
const PROTOBUF =
  "Failed to get next batch from stream: lance error: LanceError(IO): failed to decode Protobuf message: buffer underflow, /usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lance-file-12.0.0/src/reader.rs:943:31";
const SHORT_MANIFEST =
  "lance error: LanceError(IO): file size is too small, /usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lance-io-12.0.0/src/utils.rs:58:20\nCaused by: LanceError(IO): file size is too small";
const NO_VERSIONS =
  "Table 'cells' was not found\nCaused by: Dataset at path tmp/x/cells.lance was not found: Not found: tmp/x/cells.lance/_versions, /usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/lance-table-12.0.0/src/io/commit.rs:670:26";

describe("Lance error mapping", () => {
  it("strips Rust source locations from messages", () => {
    expect(stripRustLocations(TRUNCATED)).toBe(
      "Failed to get next batch from stream: lance error: LanceError(IO): Generic LocalFileSystem error: failed to fill whole buffer",
    );
    expect(stripRustLocations(PROTOBUF)).not.toMatch(/cargo|\.rs:/);
    expect(stripRustLocations(SHORT_MANIFEST)).toBe("lance error: LanceError(IO): file size is too small");
  });

  it("classifies damaged-file errors and leaves the rest alone", () => {
    expect(classifyLanceError(new Error(TRUNCATED))).toBe("truncated");
    expect(classifyLanceError(new Error(SHORT_MANIFEST))).toBe("truncated");
    expect(classifyLanceError(new Error(MISSING))).toBe("missing-file");
    expect(classifyLanceError(new Error(BAD_MAGIC))).toBe("not-lance-file");
    expect(classifyLanceError(new Error(PROTOBUF))).toBe("undecodable");
    expect(classifyLanceError(new Error("lance error: LanceError(IO): Permission denied (os error 13)"))).toBe("permission");
    expect(classifyLanceError(Object.assign(new Error("open"), { code: "EACCES" }))).toBe("permission");
    // Not about damaged files: a folder that is no Lance dataset, a bad filter, a full disk, an AppFailure.
    expect(classifyLanceError(new Error(NO_VERSIONS))).toBeNull();
    expect(classifyLanceError(new Error("Invalid user input: Schema error: No field named nope"))).toBeNull();
    expect(classifyLanceError(new Error("LanceError(IO): No space left on device (os error 28)"))).toBeNull();
    expect(classifyLanceError(new AppFailure("TABLE_UNKNOWN", "x"))).toBeNull();
  });

  it("names the file when Lance does, with its leading slash restored", () => {
    expect(fileInLanceMessage(MISSING)).toBe("/tmp/x/pbmc.slaf/cells.lance/data/1110001000001110011100118c21af46e8a186b14a75a92734.lance");
    expect(fileInLanceMessage(TRUNCATED)).toBeNull();
  });

  it("gives TABLE_CORRUPT naming the table and file, never a /rustc/ path, the raw text in detail", () => {
    const truncated = lanceTableFailure(new Error(TRUNCATED), { table: "cells", tablePath: "/data/pbmc.slaf/cells.lance" })!.appError;
    expect(truncated).toMatchObject({ code: "TABLE_CORRUPT", path: "/data/pbmc.slaf/cells.lance", detail: TRUNCATED });
    expect(truncated.message).toContain('Table "cells" (/data/pbmc.slaf/cells.lance) is damaged: a file is shorter than Lance expects');
    expect(truncated.message).not.toMatch(/rustc|cargo|\.rs:/);
    const missing = lanceTableFailure(new Error(MISSING), { table: "cells" })!.appError;
    expect(missing).toMatchObject({ code: "TABLE_CORRUPT", path: expect.stringMatching(/^\/tmp\/x\/pbmc\.slaf\/cells\.lance\/data\/.*\.lance$/) });
    expect(missing.message).toMatch(/one of its data files is missing: \/tmp\/x\/pbmc\.slaf\/cells\.lance\/data\/1110.*\.lance/);
    const denied = lanceTableFailure(new Error("LanceError(IO): Permission denied (os error 13)"), { table: "genes", tablePath: "/d/genes.lance" })!.appError;
    expect(denied).toMatchObject({ code: "PERMISSION_DENIED", message: expect.stringContaining('Permission denied reading table "genes" at /d/genes.lance') });
    expect(lanceTableFailure(new Error("Schema error: No field named nope"), { table: "cells" })).toBeNull();
  });
});
