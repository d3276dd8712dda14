/** Live view of long-running jobs (conversion, queries) from main's `job` push events. */
import type { Client, JobEvent } from "../../shared/ipc/contract";

export class Jobs {
  byId = $state<Record<string, JobEvent>>({});

  constructor(private readonly client: Client) {
    client.on("job", (event) => {
      this.byId = { ...this.byId, [event.jobId]: event };
    });
  }

  get running(): JobEvent[] {
    return Object.values(this.byId).filter((j) => j.state === "running");
  }

  /**
   * Resolves with the final event of a job (a failed one when main cannot say); progress arrives through `byId`.
   * `jobs.wait` is a long poll that may answer while the job still runs: ask again until it has ended.
   */
  async wait(jobId: string): Promise<JobEvent> {
    for (;;) {
      const r = await this.client.jobs.wait({ jobId });
      if (r.ok && r.value.state === "running") {
        this.byId = { ...this.byId, [jobId]: r.value };
        continue;
      }
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
  }

  async cancel(jobId: string): Promise<void> {
    await this.client.jobs.cancel({ jobId });
  }
}
