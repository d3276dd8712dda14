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

  exportResult(summary: QuerySummary, format: ExportFormat, path: string): Promise<Result<{ path: string; bytes: number }>> {
    return this.client.query.export({ resultId: summary.resultId, format, path });
  }
}
