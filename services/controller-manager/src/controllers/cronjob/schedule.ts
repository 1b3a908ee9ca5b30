import { scheduleTimesBetween, type CronJob, type CronSchedule } from "@kubelab/api";

// The CronJob controller's decisions about time, after Kubernetes' cronjob utils.go: which
// scheduled time is due, how many were missed, and when to look again. Pure: the caller passes `now`.

/** More missed start times than this is "too many": something is wrong with the clock or the controller was down long. */
export const MANY_MISSED_SCHEDULES = 100;

/** Past the scheduled time a requeue lands at, for clock skew between this controller and the API server. */
export const NEXT_SCHEDULE_DELTA_MS = 100;

/** How many times the walk to the most recent one may step through: the estimate leaves it a couple. */
const WALK_LIMIT = 1000;

export type MissedSchedules = "none" | "few" | "many";

export interface MostRecent {
  /** The last schedule time, else the CronJob's creation (moved up to the starting deadline if asked). */
  earliest: Date;
  /** The latest schedule time in (earliest, now], if any. */
  mostRecent?: Date;
  missed: MissedSchedules;
  /** A schedule that parses but never fires twice (31 2 *): Kubernetes' words. */
  error?: string;
}

const timeOf = (s: string | undefined) => (s ? new Date(s) : undefined);

/**
 * Kubernetes' mostRecentScheduleTime: the schedule time to act on now, counted from the last one
 * (or the CronJob's creation); with `includeStartingDeadline`, nothing older than
 * startingDeadlineSeconds counts. The number missed is estimated from the interval between the next
 * two times, so a controller that was down for years neither walks nor starts every one of them.
 */
export function mostRecentScheduleTime(cj: CronJob, now: Date, schedule: CronSchedule, includeStartingDeadline: boolean): MostRecent {
  let earliest = timeOf(cj.status?.lastScheduleTime) ?? timeOf(cj.metadata?.creationTimestamp) ?? now;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && deadline !== undefined) {
    const schedulingDeadline = new Date(now.getTime() - deadline * 1000);
    if (schedulingDeadline > earliest) earliest = schedulingDeadline;
  }
  const t1 = schedule.next(earliest);
  const t2 = t1 && schedule.next(t1);
  if (t1 && now < t1) return { earliest, missed: "none" };
  if (t1 && t2 && now < t2) return { earliest, mostRecent: t1, missed: "none" };
  const intervalSeconds = t1 && t2 ? Math.round((t2.getTime() - t1.getTime()) / 1000) : 0;
  if (!t1 || intervalSeconds < 1) {
    return { earliest, missed: "none", error: "time difference between two schedules is less than 1 second" };
  }
  const elapsedSeconds = Math.floor((now.getTime() - t1.getTime()) / 1000);
  const missedCount = Math.floor(elapsedSeconds / intervalSeconds) + 1;
  // Start a step before the estimate. An irregular schedule (30 6-16/4 * * 1-5 over a weekend)
  // can have its latest time further back than that: then step back twice as far each time, down
  // to t1 (where Kubernetes gives up and finds none, and so would skip that time).
  let mostRecent: Date | undefined;
  for (let back = 2; !mostRecent; back *= 2) {
    const from = Math.max(t1.getTime() - 1000, t1.getTime() + (missedCount - back) * intervalSeconds * 1000);
    mostRecent = scheduleTimesBetween(schedule, new Date(from), now, WALK_LIMIT).at(-1);
    if (from < t1.getTime()) break;
  }
  const missed: MissedSchedules = missedCount > MANY_MISSED_SCHEDULES ? "many" : "few";
  return { earliest, mostRecent, missed };
}

/** Milliseconds until the next schedule time after the most recent one (Kubernetes' nextScheduleTimeDuration). */
export function nextScheduleDelayMs(cj: CronJob, now: Date, schedule: CronSchedule): number | undefined {
  const r = mostRecentScheduleTime(cj, now, schedule, false);
  let from: Date;
  if (r.error) from = now;
  else if (r.mostRecent) from = r.mostRecent;
  else from = r.missed === "none" ? r.earliest : now;
  const next = schedule.next(from);
  return next && next.getTime() + NEXT_SCHEDULE_DELTA_MS - now.getTime();
}

/** The Job of a scheduled time is named after it in minutes, so a second try at the same time meets the first (AlreadyExists). */
export function jobNameFor(cronJobName: string, scheduled: Date): string {
  return `${cronJobName}-${Math.floor(scheduled.getTime() / 60_000)}`;
}
