/** The Convert dialog's calls: inspect an input, start a conversion job (progress and cancel via the jobs store). */
import type { ConvertInspection, ConvertStartRequest } from "../../shared/ipc/contract";
import type { Result } from "../../shared/result";
import { api } from "../api/client";

export function inspectInput(input: string): Promise<Result<ConvertInspection>> {
  return api.convert.inspect({ input });
}

export function startConversion(request: ConvertStartRequest): Promise<Result<{ jobId: string }>> {
  return api.convert.start(request);
}
