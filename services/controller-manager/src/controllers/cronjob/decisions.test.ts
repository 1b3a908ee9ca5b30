import { create } from "@bufbuild/protobuf";
import { CronJobSchema, JobSchema, parseSchedule, type CronJob, type Job } from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { historyToDelete, reconcileActive, startDecision } from "./decisions.js";

const T1 = new Date("2016-05-19T10:00:00Z");
const plus = (t: Date, seconds: number) => new Date(t.getTime() + seconds * 1000);
const iso = (t: Date) => t.toISOString().replace(/\.000Z$/, "Z");
const HOURLY = parseSchedule("0 * * * *");

interface CronJobPart {
  created?: Date;
  last?: Date;
  deadline?: number;
  policy?: string;
  active?: string[];
  lastSuccessful?: string;
  successfulLimit?: number;
  failedLimit?: number;
}

const cronJob = (o: CronJobPart = {}): CronJob =>
  create(CronJobSchema, {
    metadata: { name: "hello", namespace: "default", uid: "uid-hello", creationTimestamp: iso(o.created ?? plus(T1, -600)) },
    spec: {
      schedule: "0 * * * *",
      concurrencyPolicy: o.policy ?? "Allow",
      startingDeadlineSeconds: o.deadline,
      successfulJobsHistoryLimit: o.successfulLimit,
      failedJobsHistoryLimit: o.failedLimit,
    },
    status: {
      lastScheduleTime: o.last ? iso(o.last) : "",
      lastSuccessfulTime: o.lastSuccessful ?? "",
      active: (o.active ?? []).map((name) => ({ kind: "Job", namespace: "default", name, uid: `uid-${name}` })),
    },
  });

const job = (name: string, finished?: "Complete" | "Failed", o: { start?: string; completed?: string } = {}): Job =>
  create(JobSchema, {
    metadata: { name, namespace: "default", uid: `uid-${name}` },
    status: {
      startTime: o.start ?? "",
      completionTime: o.completed ?? "",
      conditions: finished ? [{ type: finished, status: "True" }] : [],
    },
  });

describe("startDecision", () => {
  it("waits until the next start time, 100 ms past it", () => {
    expect(startDecision(cronJob(), plus(T1, -420), HOURLY)).toEqual({ action: "wait", requeueAfterMs: 420_100, events: [] });
  });

  it("starts the time just passed, and comes back at the next one", () => {
    expect(startDecision(cronJob(), plus(T1, 2), HOURLY)).toEqual({
      action: "start",
      scheduled: T1,
      replace: [],
      requeueAfterMs: 3598_100,
      events: [],
    });
  });

  it("does not start a time it has started (lastScheduleTime, or the Job of that time is active)", () => {
    expect(startDecision(cronJob({ last: T1 }), plus(T1, 2), HOURLY).action).toBe("wait");
    expect(startDecision(cronJob({ active: [`hello-${T1.getTime() / 60_000}`] }), plus(T1, 2), HOURLY).action).toBe("wait");
  });

  it("starts only the most recent of many missed times, with Kubernetes' warning", () => {
    const d = startDecision(cronJob({ created: new Date("2015-01-01T00:00:00Z") }), plus(T1, 30), HOURLY);
    expect(d).toMatchObject({ action: "start", scheduled: T1 });
    expect(d.events).toEqual([
      {
        type: "Warning",
        reason: "TooManyMissedTimes",
        message: "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
      },
    ]);
  });

  it("skips a start later than startingDeadlineSeconds: times older than that are not counted at all", () => {
    expect(startDecision(cronJob({ deadline: 10 }), plus(T1, 11), HOURLY)).toEqual({
      action: "wait",
      requeueAfterMs: 3589_100,
      events: [],
    });
    expect(startDecision(cronJob({ deadline: 10 }), plus(T1, 9), HOURLY).action).toBe("start");
  });

  it("Allow starts beside the active Job", () => {
    expect(startDecision(cronJob({ active: ["older"] }), plus(T1, 2), HOURLY)).toMatchObject({ action: "start", replace: [] });
  });

  it("Forbid waits while a Job is active", () => {
    const d = startDecision(cronJob({ policy: "Forbid", active: ["older"] }), plus(T1, 2), HOURLY);
    expect(d).toEqual({
      action: "wait",
      requeueAfterMs: 3598_100,
      events: [
        {
          type: "Normal",
          reason: "JobAlreadyActive",
          message: "Not starting job because prior execution is running and concurrency policy is Forbid",
        },
      ],
    });
    expect(startDecision(cronJob({ policy: "Forbid" }), plus(T1, 2), HOURLY).action).toBe("start");
  });

  it("Replace starts after deleting the active Jobs", () => {
    const d = startDecision(cronJob({ policy: "Replace", active: ["older", "oldest"] }), plus(T1, 2), HOURLY);
    expect(d.action === "start" && d.replace.map((r) => r.name)).toEqual(["older", "oldest"]);
  });

  it("reports a schedule that never fires, and does not come back", () => {
    const cj = cronJob();
    cj.spec!.schedule = "59 23 31 2 *";
    expect(startDecision(cj, plus(T1, 3600), parseSchedule("59 23 31 2 *"))).toEqual({
      action: "wait",
      events: [
        {
          type: "Warning",
          reason: "InvalidSchedule",
          message: "invalid schedule: 59 23 31 2 * : time difference between two schedules is less than 1 second",
        },
      ],
    });
  });
});

describe("reconcileActive", () => {
  it("takes finished Jobs out of status.active, saying so, and keeps the running ones", () => {
    const r = reconcileActive(cronJob({ active: ["a", "b", "c"] }), [job("a", "Complete"), job("b", "Failed"), job("c")]);
    expect(r.active.map((a) => a.name)).toEqual(["c"]);
    expect(r.events.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual([
      "Normal SawCompletedJob Saw completed job: a, condition: Complete",
      "Normal SawCompletedJob Saw completed job: b, condition: Failed",
    ]);
  });

  it("moves lastSuccessfulTime to the latest completion of a succeeded Job", () => {
    const r = reconcileActive(cronJob({ lastSuccessful: "2016-05-19T09:00:00Z" }), [
      job("a", "Complete", { completed: "2016-05-19T10:00:30Z" }),
      job("b", "Complete", { completed: "2016-05-19T08:00:30Z" }),
      job("c", "Failed", { completed: "2016-05-19T11:00:30Z" }),
    ]);
    expect(r.lastSuccessfulTime).toBe("2016-05-19T10:00:30Z");
  });

  it("reports a running Job it did not start, and lists active references whose Job it has not seen", () => {
    const r = reconcileActive(cronJob({ active: ["gone"] }), [job("manual")]);
    expect(r.events.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual([
      "Warning UnexpectedJob Saw a job that the controller did not create or forgot: manual",
    ]);
    expect(r.active.map((a) => a.name)).toEqual(["gone"]);
    expect(r.unaccounted.map((a) => a.name)).toEqual(["gone"]);
  });
});

describe("historyToDelete", () => {
  const finished = [
    job("s3", "Complete", { start: "2016-05-19T10:00:00Z" }),
    job("s1", "Complete", { start: "2016-05-19T08:00:00Z" }),
    job("s2", "Complete", { start: "2016-05-19T09:00:00Z" }),
    job("f1", "Failed", { start: "2016-05-19T08:30:00Z" }),
    job("f2", "Failed", { start: "2016-05-19T09:30:00Z" }),
    job("running"),
  ];

  it("deletes the oldest finished Jobs beyond each limit, never a running one", () => {
    expect(historyToDelete(cronJob({ successfulLimit: 1, failedLimit: 1 }), finished).map((j) => j.metadata!.name)).toEqual([
      "s1",
      "s2",
      "f1",
    ]);
    expect(historyToDelete(cronJob({ successfulLimit: 0, failedLimit: 0 }), finished).map((j) => j.metadata!.name)).toEqual([
      "s1",
      "s2",
      "s3",
      "f1",
      "f2",
    ]);
  });

  it("deletes nothing within the limits, or without them", () => {
    expect(historyToDelete(cronJob({ successfulLimit: 3, failedLimit: 2 }), finished)).toEqual([]);
    expect(historyToDelete(cronJob(), finished)).toEqual([]);
  });
});
