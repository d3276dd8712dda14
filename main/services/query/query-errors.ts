/**
 * Error wording for SQL: DuckDB's messages turned into QUERY_INVALID failures that point at the problem (a
 * 1-based position, the columns available, why a file cannot be read and how to allow it).
 */
import { AppFailure, type AppError } from "../../../shared/result";
import type { Analysis } from "./analyze";

/** How a user allows SQL to read the files of a folder; said whenever a read is refused. */
export const DEFAULT_FILE_ACCESS_HINT =
  'add the folder to "sql.allowedDirectories" in the app\'s settings.json, or pass --allow-dir FOLDER to slaf-workbench query';

/** Turns a DuckDB execution error into a readable QUERY_INVALID, with the position when DuckDB shows one. */
export function describeDuckError(message: string, sql: string, lineShift: number): AppError {
  let text = message;
  let position: AppError["position"];
  const m = /\n*LINE (\d+):( ?)(.*)\n( *)\^\s*$/s.exec(text);
  if (m) {
    const line = Number(m[1]) - lineShift;
    const caret = m[4].length - `LINE ${m[1]}:`.length - m[2].length;
    text = text.slice(0, m.index);
    if (line >= 1) {
      const lines = sql.split("\n");
      let offset = 0;
      for (let k = 0; k < line - 1 && k < lines.length; k++) offset += [...lines[k]].length + 1;
      position = { line, column: caret + 1, offset: offset + caret + 1 };
    }
  }
  const short = text.split(/\n\s*Candidate functions:/)[0].trim();
  return { code: "QUERY_INVALID", message: short, detail: message, ...(position ? { position } : {}) };
}

/** The lower-cased column a binder error says is missing, or null. */
export function missingColumn(message: string): string | null {
  const m = /Referenced column "([^"]+)" not found/.exec(message) ?? /does not have a column named "([^"]+)"/.exec(message);
  return m ? m[1].toLowerCase() : null;
}

/**
 * A refused file or network access, worded for the user: why SQL cannot read it and how to allow a folder.
 * Null when the message is about something else.
 */
export function fileAccessFailure(message: string, hint: string): AppFailure | null {
  const why = "notebooks are shared documents, so file access is off";
  const refused = /Permission Error: Cannot access (?:file|directory) "([^"]*)"/.exec(message);
  if (refused) {
    const target = refused[1];
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
      return new AppFailure(
        "QUERY_INVALID",
        `SQL cannot read URLs ("${target}"): ${why}, and network access with it. Copy the file into a folder and allow that folder: ${hint}`,
        {
          detail: message,
        },
      );
    }
    return new AppFailure("QUERY_INVALID", `SQL cannot read files ("${target}"): ${why}. To read files in a folder, allow it: ${hint}`, {
      detail: message,
      path: target,
    });
  }
  if (/Permission Error: .*extensions? (is|are) disabled/i.test(message)) {
    return new AppFailure("QUERY_INVALID", "SQL cannot load extensions: notebooks are shared documents, so only the functions built into the app run", {
      detail: message,
    });
  }
  // Outside allowed folders, `FROM 'file.csv'` is not even looked up as a file: DuckDB says there is no such table.
  const table = /Catalog Error: Table with name (.+) does not exist!/.exec(message)?.[1];
  if (table && (/[/\\]/.test(table) || /\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst)$/i.test(table))) {
    return new AppFailure("QUERY_INVALID", `SQL cannot read files ("${table}"): ${why}. To read files in a folder, allow it: ${hint}`, {
      detail: message,
      path: table,
    });
  }
  return null;
}

/** The failure for an error DuckDB raised while running the user's SQL (wrapped in one line of our own). */
export function explainError(message: string, sql: string, analysis: Analysis, hint: string): AppFailure {
  const refused = fileAccessFailure(message, hint);
  if (refused) return refused;
  const missing = missingColumn(message);
  const e = describeDuckError(message, sql, 1);
  let text = e.message;
  if (missing) {
    const tables = [...analysis.tables.values()].map((n) => `${n.table.name}: ${n.table.columns.map((c) => c.name).join(", ")}`);
    const candidates = /Candidate bindings: (.*)/.exec(e.message)?.[1];
    // As written: `name`, or `alias.name` when DuckDB says a table (or a values list) has no such column.
    const qualified = /"([^"]+)" does not have a column named "([^"]+)"/.exec(message);
    const original = qualified ? `${qualified[1]}.${qualified[2]}` : (/Referenced column "([^"]+)"/.exec(e.message)?.[1] ?? missing);
    text = `Unknown column "${original}".${tables.length ? ` Columns available — ${tables.join("; ")}` : ""}${!tables.length && candidates ? ` Candidates: ${candidates}` : ""}`;
  }
  return new AppFailure("QUERY_INVALID", text, { detail: e.detail, position: e.position });
}
