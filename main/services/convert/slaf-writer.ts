/**
 * Writes a SLAF 0.5 dataset (../shared/notes/slaf-format.md §1): Lance file format 2.2, V2 manifest paths,
 * one expression append per chunk of cells, config.json with the statistics SLAF computes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { arrow } from "../arrow";
import { IpcChunkPool } from "./ipc-file";
import { OWNER_FILE } from "./stale";

type ArrowTable = InstanceType<typeof arrow.Table>;

export const LANCE_WRITE_OPTIONS: Record<string, string> = {
  new_table_data_storage_version: "2.2",
  new_table_enable_v2_manifest_paths: "true",
};

export type ValueType = "uint16" | "float32";

/**
 * Writing needs no index cache and little metadata cache: Lance's defaults (6 GB / 1 GB) let every append keep
 * its file metadata in memory, which grows the process by about a megabyte per fragment.
 */
function writerSession(): lancedb.Session {
  return new lancedb.Session(0n, 8n * 1024n * 1024n);
}
export type TableName = "cells" | "genes" | "layers" | "cellsxcells" | "genesxgenes";

export interface ExpressionChunk {
  cell: Uint32Array | Int32Array;
  gene: Uint16Array | Int32Array;
  value: Uint16Array | Float32Array;
}

/** Running min/max/sum/sum-of-squares over stored values, as SLAF's `_save_config` computes them (NaN skipped). */
export class ValueStats {
  count = 0;
  private finite = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;
  sumSq = 0;
  /** Folds in a range already summed by the caller (NaN excluded from all but `count`). */
  merge(r: { min: number; max: number; sum: number; sumSq: number; finite: number; count: number }): void {
    if (r.min < this.min) this.min = r.min;
    if (r.max > this.max) this.max = r.max;
    this.sum += r.sum;
    this.sumSq += r.sumSq;
    this.finite += r.finite;
    this.count += r.count;
  }
  add(values: ArrayLike<number>): void {
    let { min, max, sum, sumSq } = this;
    let finite = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== v) continue;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      sumSq += v * v;
      finite++;
    }
    Object.assign(this, { min, max, sum, sumSq });
    this.finite += finite;
    this.count += values.length;
  }
  toJSON() {
    const n = this.finite;
    const mean = n > 0 ? this.sum / n : 0;
    const std = n > 1 ? Math.sqrt(Math.max(0, (this.sumSq - n * mean * mean) / (n - 1))) : 0;
    return { min_value: n ? this.min : 0, max_value: n ? this.max : 0, mean_value: mean, std_value: std };
  }
}

export function expressionSchema(valueType: ValueType, wideIds: boolean) {
  const { Schema, Field, Uint32, Uint16, Int32, Float32 } = arrow;
  return new Schema([
    new Field("cell_integer_id", wideIds ? new Int32() : new Uint32(), false),
    new Field("gene_integer_id", wideIds ? new Int32() : new Uint16(), false),
    new Field("value", valueType === "uint16" ? new Uint16() : new Float32(), false),
  ]);
}

/** A one-batch Arrow table over typed arrays, without copying them. */
export function columnsTable(schema: InstanceType<typeof arrow.Schema>, columns: ArrayBufferView[], length: number): ArrowTable {
  const { makeData, RecordBatch, Table, Struct } = arrow;
  const children = columns.map((values, i) => makeData({ type: schema.fields[i].type, length, data: values } as never));
  return new Table([new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, children }))]);
}

type NativeAdd = (buf: Buffer, mode: string, progress: undefined) => Promise<unknown>;

/**
 * `Table.add` re-reads the schema, serializes the Arrow table and copies the bytes once more before handing
 * them to the native writer; for expression chunks (tens of MB) that is a large share of the JS time, so we
 * pass our own IPC bytes (ipc-file.ts) straight to the native `add` when it is there.
 */
function nativeAdd(table: lancedb.Table): NativeAdd | null {
  const inner = (table as unknown as { inner?: { add?: NativeAdd } }).inner;
  return typeof inner?.add === "function" ? inner.add.bind(inner) : null;
}

/** Expression rows to fill in place; `commit` writes them as one Lance append. */
export interface ExpressionSlot extends ExpressionChunk {
  /** `statsDone`: the caller already added the values to `writer.stats` while filling them. */
  commit(statsDone?: boolean): Promise<void>;
}

/** SLAF writes pandas `Timestamp.now().isoformat()`: local time, microseconds, no zone. */
export function slafTimestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`;
}

export interface FinishInfo {
  nCells: number;
  nGenes: number;
  /** Extra top-level config blocks (layers, obsm, varm...). */
  extra?: Record<string, unknown>;
  /** Optional tables present besides expression/cells/genes. */
  tables?: string[];
  /** Extra keys of the metadata block (after SLAF's own), e.g. source_matrix. */
  metadata?: Record<string, unknown>;
}

export class SlafWriter {
  private expression: lancedb.Table | null = null;
  private pool: IpcChunkPool | null = null;
  private readonly tables = new Map<string, lancedb.Table>();
  stats = new ValueStats();

  private constructor(
    readonly root: string,
    private readonly db: lancedb.Connection,
    public valueType: ValueType,
    readonly wideIds: boolean,
  ) {}

  /** `root` must not exist yet, or hold only the owner file of a pending output (output.ts); write into a temp folder and rename when done. */
  static async create(root: string, opts: { valueType: ValueType; nGenes: number; nCells: number }): Promise<SlafWriter> {
    try {
      await fs.mkdir(root, { recursive: false });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || (await fs.readdir(root)).some((n) => n !== OWNER_FILE)) throw e;
    }
    const db = await lancedb.connect(root, { storageOptions: LANCE_WRITE_OPTIONS, session: writerSession() });
    const wideIds = opts.nGenes > 65_535 || opts.nCells > 4_294_967_295;
    return new SlafWriter(root, db, opts.valueType, wideIds);
  }

  /** Creates the table from its first slice; later calls append. */
  async writeTable(name: TableName, table: ArrowTable): Promise<void> {
    const existing = this.tables.get(name);
    if (existing) await existing.add(table as never);
    else this.tables.set(name, await this.db.createTable(name, table as never, { mode: "create", storageOptions: LANCE_WRITE_OPTIONS }));
  }

  async appendExpression(chunk: ExpressionChunk): Promise<void> {
    const slot = await this.expressionSlot(chunk.cell.length);
    slot.cell.set(chunk.cell);
    slot.gene.set(chunk.gene);
    slot.value.set(chunk.value);
    await slot.commit();
  }

  /** Like SLAF, the table is created empty (schema only) and every chunk is an append. */
  private async expressionTable(): Promise<lancedb.Table> {
    if (!this.expression) {
      const schema = expressionSchema(this.valueType, this.wideIds);
      const empty = columnsTable(schema, [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)], 0);
      this.expression = await this.db.createTable("expression", empty as never, { mode: "create", storageOptions: LANCE_WRITE_OPTIONS });
      this.pool = new IpcChunkPool(schema, [4, this.wideIds ? 4 : 2, this.valueType === "uint16" ? 2 : 4]);
    }
    return this.expression;
  }

  async expressionSlot(n: number): Promise<ExpressionSlot> {
    const table = await this.expressionTable();
    const add = nativeAdd(table);
    const chunk = this.pool!.take(n);
    const { buffer, byteOffset } = chunk.bytes;
    const [c, g, v] = chunk.offsets.map((o) => byteOffset + o);
    const slot: ExpressionChunk = {
      cell: this.wideIds ? new Int32Array(buffer, c, n) : new Uint32Array(buffer, c, n),
      gene: this.wideIds ? new Int32Array(buffer, g, n) : new Uint16Array(buffer, g, n),
      value: this.valueType === "uint16" ? new Uint16Array(buffer, v, n) : new Float32Array(buffer, v, n),
    };
    return {
      ...slot,
      commit: async (statsDone = false) => {
        if (!statsDone) this.stats.add(slot.value);
        try {
          if (add) await add(chunk.bytes, "append", undefined);
          else await table.add(columnsTable(expressionSchema(this.valueType, this.wideIds), [slot.cell, slot.gene, slot.value], n) as never);
        } finally {
          chunk.release();
        }
      },
    };
  }

  /** Drops what was written of expression.lance so it can be written again with another value type. */
  async restartExpression(valueType: ValueType): Promise<void> {
    if (this.expression) {
      this.expression.close();
      this.expression = null;
      this.pool = null;
      await this.db.dropTable("expression");
    }
    this.valueType = valueType;
    this.stats = new ValueStats();
  }

  /** Writes config.json (SLAF 0.5 keys) and closes the handles. */
  async finish(info: FinishInfo): Promise<Record<string, unknown>> {
    await this.expressionTable();
    const total = info.nCells * info.nGenes;
    const count = this.stats.count;
    const tables: Record<string, string> = { expression: "expression.lance", cells: "cells.lance", genes: "genes.lance" };
    for (const t of info.tables ?? []) tables[t] = `${t}.lance`;
    const config = {
      format_version: "0.5",
      array_shape: [info.nCells, info.nGenes],
      n_cells: info.nCells,
      n_genes: info.nGenes,
      tables,
      optimizations: { use_integer_keys: true, optimize_storage: true },
      metadata: {
        expression_count: count,
        sparsity: total > 0 ? 1 - count / total : 0,
        density: total > 0 ? count / total : 0,
        total_possible_elements: total,
        expression_stats: this.stats.toJSON(),
        ...info.metadata,
      },
      created_at: slafTimestamp(),
      ...info.extra,
    };
    await fs.writeFile(path.join(this.root, "config.json"), JSON.stringify(config, null, 2));
    this.close();
    return config;
  }

  close(): void {
    this.expression?.close();
    for (const t of this.tables.values()) t.close();
    this.tables.clear();
    this.expression = null;
    this.db.close();
  }
}
