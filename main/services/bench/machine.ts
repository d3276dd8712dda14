import os from "node:os";
import type { BenchRun } from "../../../shared/ipc/contract";

/** The machine a run measured on, saved with it (runs on other machines compare only loosely). */
export function machineInfo(): BenchRun["machine"] {
  const cpus = os.cpus();
  return { platform: process.platform, arch: process.arch, cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? "", memoryBytes: os.totalmem() };
}
