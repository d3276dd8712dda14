/** Pages of rows for the grids: a table of the open dataset, or a query result. Always one page at a time. */
import type { Client, ExportFormat, QuerySummary, TableInfo } from "../../shared/ipc/contract";
import type { Result } from "../../shared/result";
import { decodePage, tableRows, type CellValue } from "../api/arrow-rows";

export type { CellValue };

export class Rows {
  constructor(private readonly client: Client) {}

  async tablePage(datasetId: string, table: TableInfo, offset: number, limit: number): Promise<CellValue[][]> {
    const r = await this.client.datasets.readRows({ datasetId, table: table.name, offset, limit });
    if (!r.ok) throw new Error(r.error.message);
    return tableRows(decodePage(r.value.arrow), table.columns.map((c) => c.name));
  }

  async resultPage(summary: QuerySummary, offset: number, limit: number): Promise<CellValue[][]> {
    const r = await this.client.query.page({ resultId: summary.resultId, offset, limit });
    if (!r.ok) throw new Error(r.error.message);
    return tableRows(decodePage(r.value.arrow), summary.columns.map((c) => c.name));
  }

  /**
   * Exports a result to `path`. An existing file is never replaced unasked: main refuses (EXPORT_TARGET_EXISTS),
   * `replace(path)` asks the user, and only a yes writes over it. Null when the user said no.
   */
  async exportResult(summary: QuerySummary, format: ExportFormat, path: string, replace: (path: string) => Promise<boolean>): Promise<Result<{ path: string; bytes: number }> | null> {
    const req = { resultId: summary.resultId, format, path };
    const r = await this.client.query.export(req);
    if (r.ok || r.error.code !== "EXPORT_TARGET_EXISTS") return r;
    if (!(await replace(r.error.path ?? path))) return null;
    return this.client.query.export({ ...req, overwrite: true });
  }
}
