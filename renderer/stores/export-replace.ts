import type { Result } from "../../shared/result";
import type { AskConfirm } from "./confirm";
import { baseName } from "./paths";

/**
 * Runs an export that main refuses to write over an existing file (EXPORT_TARGET_EXISTS): `replace(file)` asks the
 * user, and only a yes runs it again with `overwrite`. Null when the user said no.
 */
export async function exportAskingToReplace<T>(
  path: string,
  write: (overwrite: boolean) => Promise<Result<T>>,
  replace: (file: string) => Promise<boolean>,
): Promise<Result<T> | null> {
  const r = await write(false);
  if (r.ok || r.error.code !== "EXPORT_TARGET_EXISTS") return r;
  if (!(await replace(r.error.path ?? path))) return null;
  return write(true);
}

/** The question before an export replaces a file (for `exportAskingToReplace`); a no is told to `kept` as a notice. */
export function askToReplace(confirm: AskConfirm, kept: (notice: string) => void): (file: string) => Promise<boolean> {
  return async (file) => {
    const yes = await confirm({
      title: `Replace ${baseName(file)}?`,
      message: `${file} already exists. Exporting replaces its contents.`,
      confirmLabel: "Replace",
      cancelLabel: "Keep it",
    });
    if (!yes) kept(`Not exported: kept the existing ${file}`);
    return yes;
  };
}
