import { create } from "@bufbuild/protobuf";
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, CronJobSchema, JobSchema, type CronJob, type Job } from "@kubelab/api";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { drainQueue, newFixture, type Fixture } from "../testing/fakes.js";
import { CronJobController } from "./cronJobController.js";

// After sample-controller's controller_test.go: the CronJob and its Jobs fed to the informers by
// hand, a clock the test sets, reconcile called directly, and the fake client's actions read.

const T1 = new Date("2026-03-01T12:00:00Z");
const T1_MINUTES = T1.getTime() / 60_000;
const KEY = "default/hello";
const plus = (t: Date, seconds: number) => new Date(t.getTime() + seconds * 1000);

interface CronJobPart {
  policy?: string;
  suspend?: boolean;
  timeZone?: string;
  active?: Job[];
  last?: string;
  successfulLimit?: number;
  failedLimit?: number;
}

const cronJob = (o: CronJobPart = {}): CronJob =>
  create(CronJobSchema, {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "hello", namespace: "default", uid: "uid-hello", creationTimestamp: "2026-03-01T11:50:00Z", resourceVersion: "5" },
    spec: {
      schedule: "0 * * * *",
      timeZone: o.timeZone,
      concurrencyPolicy: o.policy ?? "Allow",
      suspend: o.suspend ?? false,
      successfulJobsHistoryLimit: o.successfulLimit ?? 3,
      failedJobsHistoryLimit: o.failedLimit ?? 1,
      jobTemplate: {
        metadata: { labels: { app: "hello" }, annotations: { note: "from the template" } },
        spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "hello", image: "kubelab/shell:dev" }] } } },
      },
    },
    status: {
      lastScheduleTime: o.last ?? "",
      active: (o.active ?? []).map((j) => ({
        kind: "Job",
        apiVersion: "batch/v1",
        namespace: "default",
        name: j.metadata!.name,
        uid: j.metadata!.uid,
      })),
    },
  });

const ownedJob = (name: string, finished?: "Complete" | "Failed", start = "2026-03-01T10:00:00Z"): Job =>
  create(JobSchema, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "CronJob", name: "hello", uid: "uid-hello", controller: true, blockOwnerDeletion: true },
      ],
    },
    status: {
      startTime: start,
      completionTime: finished === "Complete" ? "2026-03-01T10:00:30Z" : "",
      conditions: finished ? [{ type: finished, status: "True" }] : [],
    },
  });

describe("CronJobController.reconcile", () => {
  let f: Fixture;
  let cc: CronJobController;
  let now: Date;

  beforeEach(() => {
    f = newFixture();
    now = plus(T1, 2);
  });

  afterEach(() => cc?.stop());

  const start = async (...objs: Array<CronJob | Job>) => {
    f.seed(...objs);
    cc = new CronJobController(f.ctx, { now: () => now });
    await drainQueue(cc.queue);
  };
  const created = () => f.client.writes().filter((a) => a.verb === "create" && a.resource === "jobs");
  const deleted = () =>
    f.client
      .writes()
      .filter((a) => a.verb === "delete" && a.resource === "jobs")
      .map((a) => [a.name, a.deleteOptions?.propagationPolicy]);
  const status = () => f.client.object<CronJob>("cronjobs", "default", "hello")!.status;

  it("creates the Job of the time just passed: named after it, controlled by the CronJob, with the template's labels, annotations and spec", async () => {
    await start(cronJob());

    const addAfter = vi.spyOn(cc.queue, "addAfter");
    await cc.reconcile(KEY);

    expect(created()).toHaveLength(1);
    const job = created()[0]!.object as Job;
    expect(job.metadata!.name).toBe(`hello-${T1_MINUTES}`);
    expect(job.metadata!.labels).toEqual({ app: "hello" });
    expect(job.metadata!.annotations).toEqual({
      note: "from the template",
      [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: "2026-03-01T12:00:00Z",
    });
    expect(job.metadata!.ownerReferences.map((r) => [r.apiVersion, r.kind, r.name, r.uid, r.controller, r.blockOwnerDeletion])).toEqual([
      ["batch/v1", "CronJob", "hello", "uid-hello", true, true],
    ]);
    expect(job.spec!.template!.spec!.containers[0]!.image).toBe("kubelab/shell:dev");
    expect(status()!.active.map((a) => [a.kind, a.name, a.uid])).toEqual([["Job", `hello-${T1_MINUTES}`, `uid-jobs-hello-${T1_MINUTES}`]]);
    expect(status()!.lastScheduleTime).toBe("2026-03-01T12:00:00Z");
    expect(f.recorder.lines()).toEqual([`Normal SuccessfulCreate Created job hello-${T1_MINUTES}`]);
    // Back at the next hour, 100 ms late.
    expect(addAfter).toHaveBeenCalledWith(KEY, 3598_100);
  });

  it("looks again within a day at the latest, however far the next time is (@yearly)", async () => {
    const cj = cronJob();
    cj.spec!.schedule = "@yearly";
    await start(cj);
    const addAfter = vi.spyOn(cc.queue, "addAfter");
    await cc.reconcile(KEY);
    expect(addAfter).toHaveBeenCalledWith(KEY, 24 * 3600_000);
  });

  it("writes the scheduled time in the CronJob's time zone", async () => {
    await start(cronJob({ timeZone: "Europe/Berlin" }));

    await cc.reconcile(KEY);

    expect((created()[0]!.object as Job).metadata!.annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]).toBe("2026-03-01T13:00:00+01:00");
  });

  it("creates nothing before the time, nor twice for one time", async () => {
    now = plus(T1, -60);
    await start(cronJob());
    await cc.reconcile(KEY);
    expect(created()).toEqual([]);

    now = plus(T1, 2);
    await cc.reconcile(KEY);
    f.observe("cronjobs", "default", "hello");
    await cc.reconcile(KEY);
    expect(created()).toHaveLength(1);
  });

  it("takes an existing Job of its own for the time into status.active (a lost status write)", async () => {
    await start(cronJob(), ownedJob(`hello-${T1_MINUTES}`));
    f.client.actions.length = 0;
    f.recorder.events.length = 0;
    // The Job is in the store but not yet in the cache.
    f.informers.for<Job>("jobs").indexer.delete(`default/hello-${T1_MINUTES}`);

    await cc.reconcile(KEY);

    expect(status()!.active.map((a) => a.name)).toEqual([`hello-${T1_MINUTES}`]);
    expect(f.recorder.lines()).toEqual([]);
  });

  it("does nothing while suspended", async () => {
    await start(cronJob({ suspend: true }));
    await cc.reconcile(KEY);
    expect(f.client.writes()).toEqual([]);
  });

  it("Forbid: no new Job while one is active", async () => {
    const running = ownedJob("hello-older");
    await start(cronJob({ policy: "Forbid", active: [running] }), running);

    await cc.reconcile(KEY);

    expect(created()).toEqual([]);
    expect(f.recorder.lines()).toEqual([
      "Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid",
    ]);
  });

  it("Replace: the active Job is deleted in the background, then the new one created", async () => {
    const running = ownedJob("hello-older");
    await start(cronJob({ policy: "Replace", active: [running] }), running);

    await cc.reconcile(KEY);

    expect(deleted()).toEqual([["hello-older", "Background"]]);
    expect(created()).toHaveLength(1);
    expect(status()!.active.map((a) => a.name)).toEqual([`hello-${T1_MINUTES}`]);
    expect(f.recorder.lines()).toEqual([
      "Normal SuccessfulDelete Deleted job hello-older",
      `Normal SuccessfulCreate Created job hello-${T1_MINUTES}`,
    ]);
  });

  it("Allow: a new Job beside the active one", async () => {
    const running = ownedJob("hello-older");
    await start(cronJob({ active: [running] }), running);
    await cc.reconcile(KEY);
    expect(status()!.active.map((a) => a.name)).toEqual(["hello-older", `hello-${T1_MINUTES}`]);
  });

  it("takes a finished Job out of status.active and keeps lastSuccessfulTime", async () => {
    const done = ownedJob("hello-done", "Complete");
    await start(cronJob({ active: [done], last: "2026-03-01T12:00:00Z" }), done);

    await cc.reconcile(KEY);

    expect(status()!.active).toEqual([]);
    expect(status()!.lastSuccessfulTime).toBe("2026-03-01T10:00:30Z");
    expect(f.recorder.lines()).toEqual(["Normal SawCompletedJob Saw completed job: hello-done, condition: Complete"]);
  });

  it("reads the CronJob again before calling a running Job unexpected: the cache may lag behind its own status write", async () => {
    const running = ownedJob(`hello-${T1_MINUTES}`);
    await start(cronJob({ last: "2026-03-01T12:00:00Z" }), running);
    // The stored CronJob lists the Job; the cached one does not yet.
    f.client.seed(cronJob({ active: [running], last: "2026-03-01T12:00:00Z" }));

    await cc.reconcile(KEY);
    expect(f.recorder.lines()).toEqual([]);

    // A running Job it never listed (made by hand with a controller reference) is reported.
    f.seed(ownedJob("hello-adopted"));
    await cc.reconcile(KEY);
    expect(f.recorder.lines()).toEqual(["Warning UnexpectedJob Saw a job that the controller did not create or forgot: hello-adopted"]);
  });

  it("drops an active Job the API server no longer has (MissingJob)", async () => {
    const gone = ownedJob("hello-gone");
    await start(cronJob({ active: [gone], last: "2026-03-01T12:00:00Z" }));

    await cc.reconcile(KEY);

    expect(status()!.active).toEqual([]);
    expect(f.recorder.lines()).toEqual(["Normal MissingJob Active job went missing: hello-gone"]);
  });

  it("deletes the oldest finished Jobs beyond the history limits", async () => {
    await start(
      cronJob({ successfulLimit: 1, failedLimit: 1, last: "2026-03-01T12:00:00Z" }),
      ownedJob("hello-s1", "Complete", "2026-03-01T08:00:00Z"),
      ownedJob("hello-s2", "Complete", "2026-03-01T09:00:00Z"),
      ownedJob("hello-f1", "Failed", "2026-03-01T08:30:00Z"),
      ownedJob("hello-f2", "Failed", "2026-03-01T09:30:00Z"),
    );

    await cc.reconcile(KEY);

    expect(deleted()).toEqual([
      ["hello-s1", "Background"],
      ["hello-f1", "Background"],
    ]);
    expect(f.recorder.lines()).toEqual(["Normal SuccessfulDelete Deleted job hello-s1", "Normal SuccessfulDelete Deleted job hello-f1"]);
  });

  it("reports a time zone it does not know and starts nothing", async () => {
    await start(cronJob({ timeZone: "Mars/Olympus" }));
    await cc.reconcile(KEY);
    expect(created()).toEqual([]);
    expect(f.recorder.lines()).toEqual(['Warning UnknownTimeZone invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus']);
  });
});
