/** Live view of long-running jobs (conversion, queries) from main's `job` push events. */
import type { JobEvent } from "../../shared/ipc/contract";
import { api } from "../api/client";

class Jobs {
  byId = $state<Record<string, JobEvent>>({});

  constructor() {
    api.on("job", (event) => {
      this.byId = { ...this.byId, [event.jobId]: event };
    });
  }

  get running(): JobEvent[] {
    return Object.values(this.byId).filter((j) => j.state === "running");
  }

  /** Resolves with the final event of a job (a failed one when main cannot say); progress arrives through `byId`. */
  async wait(jobId: string): Promise<JobEvent> {
    const r = await api.jobs.wait({ jobId });
    const known = this.byId[jobId];
    const final: JobEvent = r.ok
      ? r.value
      : {
          jobId,
          kind: known?.kind ?? "query",
          state: "failed",
          progress: known?.progress ?? { done: 0, total: null, unit: "", ratePerSecond: null, etaSeconds: null },
          startedAt: known?.startedAt ?? Date.now(),
          endedAt: Date.now(),
          error: r.error,
        };
    this.byId = { ...this.byId, [jobId]: final };
    return final;
  }

  async cancel(jobId: string): Promise<void> {
    await api.jobs.cancel({ jobId });
  }
}

export const jobs = new Jobs();
