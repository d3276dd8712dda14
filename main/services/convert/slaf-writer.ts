/**
 * Writes a SLAF 0.5 dataset (../shared/notes/slaf-format.md §1): Lance file format 2.2, V2 manifest paths,
 * one expression append per chunk of cells, config.json with the statistics SLAF computes.
 */
import fs from "node:fs/promises";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { arrow } from "../arrow";

type ArrowTable = InstanceType<typeof arrow.Table>;

export const LANCE_WRITE_OPTIONS: Record<string, string> = {
  new_table_data_storage_version: "2.2",
  new_table_enable_v2_manifest_paths: "true",
};

export type ValueType = "uint16" | "float32";

export interface ExpressionChunk {
  cell: Uint32Array | Int32Array;
  gene: Uint16Array | Int32Array;
  value: Uint16Array | Float32Array;
}

/** Running min/max/sum/sum-of-squares over stored values, as SLAF's `_save_config` computes them. */
export class ValueStats {
  count = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;
  sumSq = 0;
  add(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      this.sum += v;
      this.sumSq += v * v;
    }
    this.count += values.length;
  }
  toJSON() {
    const n = this.count;
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

export class SlafWriter {
  private expression: lancedb.Table | null = null;
  readonly stats = new ValueStats();

  private constructor(
    readonly root: string,
    private readonly db: lancedb.Connection,
    readonly valueType: ValueType,
    readonly wideIds: boolean,
  ) {}

  /** `root` must not exist yet (write into a temp folder and rename when done). */
  static async create(root: string, opts: { valueType: ValueType; nGenes: number; nCells: number }): Promise<SlafWriter> {
    await fs.mkdir(root, { recursive: false });
    const db = await lancedb.connect(root, { storageOptions: LANCE_WRITE_OPTIONS });
    const wideIds = opts.nGenes > 65_535 || opts.nCells > 4_294_967_295;
    return new SlafWriter(root, db, opts.valueType, wideIds);
  }

  async writeTable(name: "cells" | "genes" | "layers", table: ArrowTable): Promise<void> {
    await this.db.createTable(name, table as never, { mode: "create", storageOptions: LANCE_WRITE_OPTIONS });
  }

  async appendExpression(chunk: ExpressionChunk): Promise<void> {
    const { makeData, RecordBatch, Table, Struct } = arrow;
    const schema = expressionSchema(this.valueType, this.wideIds);
    const cols = [chunk.cell, chunk.gene, chunk.value].map((values, i) =>
      makeData({ type: schema.fields[i].type, length: values.length, data: values as never }),
    );
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: chunk.cell.length, children: cols }));
    this.stats.add(chunk.value);
    const table = new Table([batch]);
    if (!this.expression) {
      this.expression = await this.db.createTable("expression", table as never, { mode: "create", storageOptions: LANCE_WRITE_OPTIONS });
    } else {
      await this.expression.add(table as never);
    }
  }

  /** Writes config.json (SLAF 0.5 keys) and closes the handles. */
  async finish(info: { nCells: number; nGenes: number; extra?: Record<string, unknown>; tables?: string[] }): Promise<Record<string, unknown>> {
    if (!this.expression) await this.appendExpression({ cell: new Uint32Array(0), gene: new Uint16Array(0), value: this.valueType === "uint16" ? new Uint16Array(0) : new Float32Array(0) });
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
      },
      created_at: new Date().toISOString().replace("Z", ""),
      ...info.extra,
    };
    await fs.writeFile(path.join(this.root, "config.json"), JSON.stringify(config, null, 2));
    this.expression?.close();
    this.db.close();
    return config;
  }
}
