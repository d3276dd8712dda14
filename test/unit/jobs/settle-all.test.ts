/** JobService.settleAll: running jobs are cancelled and waited for (a worker's Lance read must end before exit). */
import { describe, expect, it } from "vitest";
import { JobService } from "../../../main/services/jobs/service";

describe("settleAll", () => {
  it("cancels every running job and resolves only once each has ended", async () => {
    const jobs = new JobService(() => undefined);
    const ended: string[] = [];
    const slowToStop = (name: string, ms: number) =>
      jobs.start("markers", "rows", async (ctx) => {
        await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener("abort", () => resolve(), { once: true })));
        // Finishing the read in progress before giving up, as the pass workers do.
        await new Promise((resolve) => setTimeout(resolve, ms));
        ended.push(name);
        throw new Error("stopped");
      });
    const a = slowToStop("a", 50);
    const b = slowToStop("b", 150);
    await jobs.settleAll();
    expect(ended.sort()).toEqual(["a", "b"]);
    for (const jobId of [a, b]) {
      const r = await jobs.wait({ jobId });
      expect(r.ok && r.value.state).toBe("cancelled");
    }
  });

  it("gives up waiting after its timeout", async () => {
    const jobs = new JobService(() => undefined);
    jobs.start("markers", "rows", () => new Promise(() => undefined));
    await jobs.settleAll(100);
    const list = await jobs.list();
    expect(list.ok && list.value[0].state).toBe("running");
  });
});
