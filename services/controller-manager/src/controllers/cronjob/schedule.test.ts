import { create } from "@bufbuild/protobuf";
import { CronJobSchema, parseSchedule, type CronJob } from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { jobNameFor, mostRecentScheduleTime, nextScheduleDelayMs } from "./schedule.js";

// After Kubernetes' TestMostRecentScheduleTime and TestNextScheduleTimeDuration (cronjob utils_test.go).

const T1 = new Date("2016-05-19T10:00:00Z"); // a start time of the hourly schedule
const T2 = new Date("2016-05-19T11:00:00Z");
const plus = (t: Date, seconds: number) => new Date(t.getTime() + seconds * 1000);
const iso = (t: Date) => t.toISOString().replace(/\.000Z$/, "Z");

const cronJob = (o: { created: Date; last?: Date; deadline?: number; schedule?: string }): CronJob =>
  create(CronJobSchema, {
    metadata: { name: "mycronjob", namespace: "default", creationTimestamp: iso(o.created) },
    spec: { schedule: o.schedule ?? "0 * * * ?", concurrencyPolicy: "Allow", startingDeadlineSeconds: o.deadline },
    status: { lastScheduleTime: o.last ? iso(o.last) : "" },
  });

const recent = (cj: CronJob, now: Date, withDeadline = true) =>
  mostRecentScheduleTime(cj, now, parseSchedule(cj.spec!.schedule), withDeadline);

describe("mostRecentScheduleTime", () => {
  it("finds none before the first start time after creation", () => {
    const r = recent(cronJob({ created: plus(T1, -600) }), plus(T1, -420));
    expect(r).toEqual({ earliest: plus(T1, -600), missed: "none" });
  });

  it("finds the start time just passed, none missed", () => {
    const r = recent(cronJob({ created: plus(T1, -600) }), plus(T1, 2));
    expect(r).toEqual({ earliest: plus(T1, -600), mostRecent: T1, missed: "none" });
  });

  it("finds none when the last start time is the latest", () => {
    expect(recent(cronJob({ created: plus(T1, -600), last: T1 }), plus(T1, 120)).mostRecent).toBeUndefined();
  });

  it("finds the next start time after the last one", () => {
    const r = recent(cronJob({ created: plus(T1, -600), last: T1 }), plus(T2, 300));
    expect(r).toMatchObject({ earliest: T1, mostRecent: T2, missed: "none" });
  });

  it("gives only the most recent of several missed ones, and says few were missed", () => {
    const r = recent(cronJob({ created: plus(T1, -7200), last: plus(T1, -3600) }), plus(T2, 300));
    expect(r).toMatchObject({ mostRecent: T2, missed: "few" });
  });

  it("says many were missed past 100, and still gives the most recent without walking them all", () => {
    const r = recent(cronJob({ created: plus(T1, -7200), last: plus(T1, -3600) }), plus(T2, 10 * 24 * 3600 + 300));
    expect(r).toMatchObject({ mostRecent: plus(T2, 10 * 24 * 3600), missed: "many" });
    // A rogue clock: decades of minutes.
    const rogue = recent(cronJob({ created: new Date("1990-01-01T00:00:00Z"), schedule: "* * * * *" }), plus(T1, 30));
    expect(rogue).toMatchObject({ mostRecent: T1, missed: "many" });
  });

  it("counts nothing older than startingDeadlineSeconds", () => {
    const cj = cronJob({ created: plus(T1, -7200), last: plus(T1, -3600), deadline: 2 * 3600 });
    expect(recent(cj, plus(T2, 10 * 24 * 3600 + 300))).toMatchObject({ mostRecent: plus(T2, 10 * 24 * 3600), missed: "few" });
    // Without it (as the requeue delay is computed), the creation still counts.
    expect(recent(cj, plus(T2, 10 * 24 * 3600 + 300), false).missed).toBe("many");
  });

  it("finds the most recent time of an irregular schedule", () => {
    // 06:30, 10:30 and 14:30 on weekdays; 2016-05-20 is a Friday, 2016-05-23 a Monday.
    const cj = cronJob({ created: new Date("2016-05-19T00:00:00Z"), schedule: "30 6-16/4 * * 1-5" });
    expect(recent(cj, new Date("2016-05-23T07:00:00Z")).mostRecent).toEqual(new Date("2016-05-23T06:30:00Z"));
    expect(recent(cj, new Date("2016-05-22T12:00:00Z")).mostRecent).toEqual(new Date("2016-05-20T14:30:00Z"));
  });

  it("reports a schedule that parses but never fires twice, as Kubernetes does", () => {
    const r = recent(cronJob({ created: T1, schedule: "59 23 31 2 *" }), plus(T1, 3600));
    expect(r.error).toBe("time difference between two schedules is less than 1 second");
  });
});

describe("nextScheduleDelayMs", () => {
  it("is the time to the next start after the most recent, 100 ms late", () => {
    const cj = cronJob({ created: plus(T1, -600), last: T1 });
    expect(nextScheduleDelayMs(cj, plus(T1, 120), parseSchedule("0 * * * ?"))).toBe(3600_000 - 120_000 + 100);
  });

  it("counts from now when many were missed", () => {
    const cj = cronJob({ created: new Date("1990-01-01T00:00:00Z"), schedule: "* * * * *" });
    expect(nextScheduleDelayMs(cj, plus(T1, 30), parseSchedule("* * * * *"))).toBe(30_000 + 100);
  });
});

describe("jobNameFor", () => {
  it("appends the scheduled time in minutes since the epoch", () => {
    expect(jobNameFor("hello", T1)).toBe(`hello-${T1.getTime() / 60_000}`);
    expect(jobNameFor("hello", plus(T1, 59))).toBe(`hello-${T1.getTime() / 60_000}`);
  });
});
