/**
 * A small file only its owner may read (secrets): written atomically (a temp file created 0600 from the start, then
 * renamed over the old one, so the file never exists with wider rights or half written), and read only when it is
 * a regular file of this user that nobody else can read or write. On Windows, where modes do not apply, the
 * user-data folder's own access rights protect it.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { AppFailure } from "../../../shared/result";

const MAX_BYTES = 256 * 1024;
const CHECK_MODES = process.platform !== "win32";

function unavailable(file: string, why: string): AppFailure {
  return new AppFailure("SECRETS_UNAVAILABLE", `The secrets file ${file} ${why}`, { path: file });
}

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, "0");
}

/** The text of a private file, or null when there is none. Refuses (SECRETS_UNAVAILABLE) a file others could read or change. */
export async function readPrivateFile(file: string): Promise<string | null> {
  let handle: fsp.FileHandle;
  try {
    // O_NOFOLLOW: a link planted in place of the file is refused, not followed; O_NONBLOCK: a FIFO cannot hang the open.
    handle = await fsp.open(file, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP")
      throw unavailable(file, "is a symbolic link; secrets are read only from a regular file. Delete it and enter the secrets again in Settings");
    if (code === "EACCES" || code === "EPERM")
      throw unavailable(file, "cannot be read by you (permission denied). Delete it and enter the secrets again in Settings");
    throw unavailable(file, `cannot be opened (${code ?? (e as Error).message})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw unavailable(file, "is not a regular file. Delete it and enter the secrets again in Settings");
    const uid = process.getuid?.();
    if (CHECK_MODES && uid !== undefined && st.uid !== uid)
      throw unavailable(file, `belongs to another user (uid ${st.uid}, you are ${uid}), so it is not read. Delete it and enter the secrets again in Settings`);
    if (CHECK_MODES && (st.mode & 0o077) !== 0)
      throw unavailable(
        file,
        `can be read or changed by other users (mode ${octal(st.mode)}), so it is not read. Others may have seen the secrets in it: replace them (new token or key), then delete the file and enter them again in Settings, or run chmod 600 "${file}"`,
      );
    if (st.size > MAX_BYTES) throw unavailable(file, `is ${st.size} bytes, more than a secrets file ever holds (${MAX_BYTES}); it is not read`);
    return (await handle.readFile()).toString("utf8");
  } finally {
    await handle.close();
  }
}

/** Replaces a private file atomically; the folder is created (0700) when missing. */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  // "wx": created here and now (never an existing file or a link), with mode 0600 from the start.
  const handle = await fsp.open(temp, "wx", 0o600);
  try {
    // The create mode already is 0600 (a umask only removes rights); chmod covers file systems that ignore it.
    if (CHECK_MODES) await handle.chmod(0o600);
    await handle.writeFile(text, "utf8");
    await handle.sync();
    await handle.close();
    await fsp.rename(temp, file);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fsp.rm(temp, { force: true });
    throw e;
  }
}
