/** Typed arrays → Arrow IPC stream bytes (one record batch, zero-copy vectors). */
import { arrow } from "../arrow";

type TypedColumn = Float32Array | Int32Array | Uint16Array;

export function typedIpc(columns: Record<string, TypedColumn>): Uint8Array {
  const vectors = Object.fromEntries(Object.entries(columns).map(([name, values]) => [name, arrow.makeVector(values)]));
  return arrow.tableToIPC(new arrow.Table(vectors), "stream");
}
