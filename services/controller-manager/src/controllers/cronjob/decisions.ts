import { formatRfc1123z, jobFinishedCondition, type CronJob, type CronSchedule, type Job, type ObjectReference } from "@kubelab/api";
import { jobNameFor, mostRecentScheduleTime, nextScheduleDelayMs } from "./schedule.js";

// What the CronJob controller does, decided from what it sees (after Kubernetes'
// cronjob_controllerv2.go syncCronJob and cleanupFinishedJobs); the controller carries it out.

export interface CronJobEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

const warning = (reason: string, message: string): CronJobEvent => ({ type: "Warning", reason, message });
const normal = (reason: string, message: string): CronJobEvent => ({ type: "Normal", reason, message });

export interface ActiveReconciliation {
  /** status.active with the finished Jobs taken out. */
  active: ObjectReference[];
  /** SawCompletedJob events, one per finished Job that was active. */
  events: CronJobEvent[];
  /** The latest completion of a succeeded Job, if later than the status had. */
  lastSuccessfulTime: string;
  /** References in status.active with no Job in the cache: the API is asked before they go (MissingJob). */
  unaccounted: ObjectReference[];
}

/**
 * status.active against the Jobs the CronJob controls: a finished Job leaves it, with
 * SawCompletedJob; a running Job it does not list is reported (UnexpectedJob, as a Job made by
 * hand with --from=cronjob is), not adopted; lastSuccessfulTime follows the latest succeeded Job.
 */
export function reconcileActive(cj: CronJob, jobs: readonly Job[]): ActiveReconciliation {
  let active = [...(cj.status?.active ?? [])];
  const events: CronJobEvent[] = [];
  let lastSuccessfulTime = cj.status?.lastSuccessfulTime ?? "";
  const uids = new Set(jobs.map((j) => j.metadata!.uid));
  for (const j of jobs) {
    const uid = j.metadata!.uid;
    const listed = active.some((a) => a.uid === uid);
    const finished = jobFinishedCondition(j);
    if (!finished) {
      if (!listed) events.push(warning("UnexpectedJob", `Saw a job that the controller did not create or forgot: ${j.metadata!.name}`));
      continue;
    }
    if (listed) {
      active = active.filter((a) => a.uid !== uid);
      events.push(normal("SawCompletedJob", `Saw completed job: ${j.metadata!.name}, condition: ${finished}`));
    }
    const completed = j.status?.completionTime;
    if (finished === "Complete" && completed && (!lastSuccessfulTime || Date.parse(completed) > Date.parse(lastSuccessfulTime))) {
      lastSuccessfulTime = completed;
    }
  }
  const unaccounted = active.filter((a) => !uids.has(a.uid));
  return { active, events, lastSuccessfulTime, unaccounted };
}

/** Kubernetes' byJobStartTime: started before not started, earlier first, then by name. */
function byStartTime(a: Job, b: Job): number {
  const sa = a.status?.startTime;
  const sb = b.status?.startTime;
  if (!sa !== !sb) return sa ? -1 : 1;
  if (sa && sb && sa !== sb) return Date.parse(sa) - Date.parse(sb);
  return a.metadata!.name < b.metadata!.name ? -1 : a.metadata!.name > b.metadata!.name ? 1 : 0;
}

/** The finished Jobs past the history limits, oldest first: succeeded ones beyond successfulJobsHistoryLimit, failed ones beyond failedJobsHistoryLimit. */
export function historyToDelete(cj: CronJob, jobs: readonly Job[]): Job[] {
  const over = (finished: "Complete" | "Failed", limit: number | undefined) => {
    if (limit === undefined) return [];
    const done = jobs.filter((j) => jobFinishedCondition(j) === finished).sort(byStartTime);
    return done.slice(0, Math.max(0, done.length - limit));
  };
  return [...over("Complete", cj.spec?.successfulJobsHistoryLimit), ...over("Failed", cj.spec?.failedJobsHistoryLimit)];
}

export type StartDecision =
  /** Start nothing now; look again after `requeueAfterMs` (never, if absent: a schedule that never fires). */
  | { action: "wait"; requeueAfterMs?: number; events: CronJobEvent[] }
  /** Create the Job of `scheduled`, after deleting the `replace`d active ones (concurrencyPolicy Replace). */
  | { action: "start"; scheduled: Date; replace: ObjectReference[]; requeueAfterMs?: number; events: CronJobEvent[] };

/**
 * Whether a Job is due now and what stands in its way (Kubernetes' syncCronJob past the
 * bookkeeping): only the most recent missed time is started, never a burst of them; one later
 * than startingDeadlineSeconds is missed (MissSchedule); a time already started is not started
 * again; Forbid waits for the active Job (JobAlreadyActive), Replace deletes it. `cj.status.active`
 * is the reconciled list.
 */
export function startDecision(cj: CronJob, now: Date, schedule: CronSchedule): StartDecision {
  const requeueAfterMs = nextScheduleDelayMs(cj, now, schedule);
  const wait = (...events: CronJobEvent[]): StartDecision => ({ action: "wait", requeueAfterMs, events });
  const recent = mostRecentScheduleTime(cj, now, schedule, true);
  if (recent.error) {
    return { action: "wait", events: [warning("InvalidSchedule", `invalid schedule: ${cj.spec!.schedule} : ${recent.error}`)] };
  }
  const scheduled = recent.mostRecent;
  if (!scheduled || scheduled > now) return wait();
  const events: CronJobEvent[] = [];
  if (recent.missed === "many") {
    events.push(
      warning("TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"),
    );
  }
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && scheduled.getTime() + deadline * 1000 < now.getTime()) {
    return wait(...events, warning("MissSchedule", `Missed scheduled time to start a job: ${formatRfc1123z(scheduled)}`));
  }
  const active = cj.status?.active ?? [];
  const name = jobNameFor(cj.metadata!.name, scheduled);
  const last = cj.status?.lastScheduleTime;
  if (active.some((a) => a.name === name) || (last && Date.parse(last) === scheduled.getTime())) return wait(...events);
  const policy = cj.spec?.concurrencyPolicy || "Allow";
  if (policy === "Forbid" && active.length > 0) {
    return wait(
      ...events,
      normal("JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid"),
    );
  }
  return { action: "start", scheduled, replace: policy === "Replace" ? active : [], requeueAfterMs, events };
}
