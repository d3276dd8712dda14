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

  /** Resolves with the final event of a job; progress arrives meanwhile through `byId`. */
  async wait(jobId: string): Promise<JobEvent> {
    const r = await api.jobs.wait({ jobId });
    if (!r.ok) throw new Error(r.error.message);
    this.byId = { ...this.byId, [jobId]: r.value };
    return r.value;
  }

  async cancel(jobId: string): Promise<void> {
    await api.jobs.cancel({ jobId });
  }
}

export const jobs = new Jobs();
