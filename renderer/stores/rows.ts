/** Pages of rows for the grids: a table of the open dataset, or a query result. Always one page at a time. */
import type { Client, ExportFormat, QuerySummary, RowPage, TableInfo } from "../../shared/ipc/contract";
import type { Result } from "../../shared/result";
import { decodePage, tableRows, type CellValue } from "../api/arrow-rows";
import { exportAskingToReplace } from "./export-replace";

export type { CellValue };

export class Rows {
  constructor(private readonly client: Client) {}

  tablePage(datasetId: string, table: TableInfo, offset: number, limit: number): Promise<CellValue[][]> {
    const names = table.columns.map((c) => c.name);
    return gather(offset, limit, (at, n) => this.client.datasets.readRows({ datasetId, table: table.name, offset: at, limit: n }), names);
  }

  resultPage(summary: QuerySummary, offset: number, limit: number): Promise<CellValue[][]> {
    const names = summary.columns.map((c) => c.name);
    return gather(offset, limit, (at, n) => this.client.query.page({ resultId: summary.resultId, offset: at, limit: n }), names);
  }

  /**
   * Exports a result to `path`. An existing file is never replaced unasked: main refuses (EXPORT_TARGET_EXISTS),
   * `replace(path)` asks the user, and only a yes writes over it. Null when the user said no.
   */
  async exportResult(
    summary: QuerySummary,
    format: ExportFormat,
    path: string,
    replace: (path: string) => Promise<boolean>,
  ): Promise<Result<{ path: string; bytes: number }> | null> {
    const req = { resultId: summary.resultId, format, path };
    return exportAskingToReplace(path, (overwrite) => this.client.query.export(overwrite ? { ...req, overwrite } : req), replace);
  }
}

/** Rows [offset, offset+limit): main caps each answer by bytes too, so wide rows come in several answers. */
async function gather(
  offset: number,
  limit: number,
  page: (offset: number, limit: number) => Promise<Result<RowPage>>,
  names: string[],
): Promise<CellValue[][]> {
  const rows: CellValue[][] = [];
  while (rows.length < limit) {
    const r = await page(offset + rows.length, limit - rows.length);
    if (!r.ok) throw new Error(r.error.message);
    if (r.value.numRows === 0) break;
    rows.push(...tableRows(decodePage(r.value.arrow), names));
    if (offset + rows.length >= r.value.totalRows) break;
  }
  return rows;
}
