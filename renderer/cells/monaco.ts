/**
 * Monaco, loaded once, with only what a SQL cell needs: SQL colouring, suggestions (table and column names of
 * the open dataset and of named results), find, comments, bracket matching, hovers for error markers.
 */
import * as monaco from "monaco-editor/editor/editor.api";
import "monaco-editor/languages/definitions/sql/register";
import "monaco-editor/editor/contrib/suggest/browser/suggestController";
import "monaco-editor/editor/contrib/snippet/browser/snippetController2";
import "monaco-editor/editor/contrib/find/browser/findController";
import "monaco-editor/editor/contrib/comment/browser/comment";
import "monaco-editor/editor/contrib/bracketMatching/browser/bracketMatching";
import "monaco-editor/editor/contrib/hover/browser/hoverContribution";
import "monaco-editor/editor/contrib/clipboard/browser/clipboard";
import "monaco-editor/editor/contrib/contextmenu/browser/contextmenu";
import "monaco-editor/editor/contrib/linesOperations/browser/linesOperations";
import "monaco-editor/editor/contrib/wordOperations/browser/wordOperations";
import "monaco-editor/editor/contrib/multicursor/browser/multicursor";
import "monaco-editor/editor/contrib/placeholderText/browser/placeholderText.contribution";
import "monaco-editor/editor/contrib/gotoError/browser/gotoError";
import EditorWorker from "monaco-editor/editor/editor.worker?worker";

(self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = { getWorker: () => new EditorWorker() };

export interface SqlSchema {
  tables: { name: string; columns: { name: string; type: string }[]; detail: string }[];
}

let schemaSource: () => SqlSchema = () => ({ tables: [] });

/** The completion provider asks this for the current tables (dataset tables + named cell results). */
export function setSqlSchemaSource(source: () => SqlSchema): void {
  schemaSource = source;
}

const KEYWORDS = [
  "SELECT",
  "FROM",
  "WHERE",
  "GROUP BY",
  "ORDER BY",
  "HAVING",
  "LIMIT",
  "JOIN",
  "LEFT JOIN",
  "ON",
  "AS",
  "AND",
  "OR",
  "NOT",
  "IN",
  "BETWEEN",
  "IS NULL",
  "IS NOT NULL",
  "WITH",
  "DISTINCT",
  "COUNT(*)",
  "AVG",
  "SUM",
  "MIN",
  "MAX",
  "STDDEV",
  "OVER",
  "PARTITION BY",
  "RANK()",
  "ROW_NUMBER()",
  "CASE",
  "WHEN",
  "THEN",
  "ELSE",
  "END",
  "DESC",
  "ASC",
  "UNION ALL",
];

monaco.languages.registerCompletionItemProvider("sql", {
  triggerCharacters: ["."],
  provideCompletionItems(model, position) {
    const word = model.getWordUntilPosition(position);
    const range = new monaco.Range(position.lineNumber, word.startColumn, position.lineNumber, word.endColumn);
    const schema = schemaSource();
    const before = model.getValueInRange(new monaco.Range(position.lineNumber, 1, position.lineNumber, word.startColumn));
    const qualifier = /([A-Za-z_][\w]*)\.$/.exec(before)?.[1];
    const K = monaco.languages.CompletionItemKind;
    if (qualifier) {
      // `c.` → columns of the table aliased or named `c` (aliases resolved loosely: a FROM/JOIN "<table> <alias>").
      const text = model.getValue();
      const alias = new RegExp(`\\b(\\w+)\\s+(?:AS\\s+)?${qualifier}\\b`, "i").exec(text)?.[1];
      const table = schema.tables.find((t) => t.name === qualifier || t.name === alias);
      return { suggestions: (table?.columns ?? []).map((c) => ({ label: c.name, kind: K.Field, detail: c.type, insertText: c.name, range })) };
    }
    const suggestions: monaco.languages.CompletionItem[] = [];
    for (const t of schema.tables) {
      suggestions.push({ label: t.name, kind: K.Struct, detail: t.detail, insertText: t.name, range, sortText: `1${t.name}` });
      for (const c of t.columns)
        suggestions.push({ label: c.name, kind: K.Field, detail: `${t.name} · ${c.type}`, insertText: c.name, range, sortText: `2${c.name}` });
    }
    for (const k of KEYWORDS) suggestions.push({ label: k, kind: K.Keyword, insertText: k, range, sortText: `3${k}` });
    return { suggestions };
  },
});

export { monaco };
