import { create, equals } from "@bufbuild/protobuf";
import {
  CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION,
  CronJobStatusSchema,
  ObjectReferenceSchema,
  formatTime,
  formatTimeInZone,
  isAlreadyExists,
  isKnownTimeZone,
  isNotFound,
  jobFinishedCondition,
  jobFromCronJobTemplate,
  parseSchedule,
  ScheduleParseError,
  type CronJob,
  type CronSchedule,
  type Job,
  type ObjectReference,
} from "@kubelab/api";
import { ignoreNotFound, objectKey, writeStatus, type Informer } from "@kubelab/client";
import { controllerRef, isControlledBy, newControllerRef } from "../ownerRefs.js";
import { QueueController, type ControllerContext } from "../queueController.js";
import { historyToDelete, reconcileActive, startDecision, type CronJobEvent } from "./decisions.js";
import { jobNameFor, nextScheduleDelayMs } from "./schedule.js";

/**
 * The longest a CronJob waits in the queue before it is looked at again: a timer cannot wait
 * longer than about 24.8 days (Node fires it at once instead), and a @yearly schedule would.
 */
export const MAX_REQUEUE_MS = 24 * 3600_000;

export interface CronJobControllerOptions {
  /** The controller's clock (tests move it; the queue's delays still pass in real time). */
  now?: () => Date;
}

/** A reference to a Job, as status.active lists it (Kubernetes' ref.GetReference). */
export function jobReference(job: Job): ObjectReference {
  const m = job.metadata!;
  return create(ObjectReferenceSchema, {
    kind: "Job",
    apiVersion: "batch/v1",
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
  });
}

/** The Job a CronJob makes for a scheduled time (Kubernetes' getJobFromTemplate2). */
export function jobFromTemplate(cj: CronJob, scheduled: Date): Job {
  return jobFromCronJobTemplate(cj, jobNameFor(cj.metadata!.name, scheduled), newControllerRef(cj, "batch/v1", "CronJob"), {
    overrides: { [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: formatTimeInZone(scheduled, cj.spec?.timeZone) },
  });
}

/**
 * Kubernetes' CronJob controller (cronjob_controllerv2.go): at each schedule time a Job from the
 * template, named after the time; concurrencyPolicy, startingDeadlineSeconds and suspend decide
 * whether it starts; status.active, lastScheduleTime and lastSuccessfulTime follow the Jobs it
 * controls; finished Jobs past the history limits are deleted. Each CronJob is queued again at its
 * next schedule time, so nothing polls.
 */
export class CronJobController extends QueueController {
  readonly name = "cronjob";
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly now: () => Date;

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    super(ctx);
    this.now = opts.now ?? (() => new Date());
    this.cronJobs = ctx.informers.for<CronJob>("cronjobs");
    this.jobs = ctx.informers.for<Job>("jobs");
    this.cronJobs.addEventHandler({
      onAdd: (cj) => this.enqueue(cj),
      onUpdate: (old, cj) => this.cronJobUpdated(old, cj),
      onDelete: (cj) => this.enqueue(cj),
    });
    const jobChanged = (j: Job) => {
      const ref = controllerRef(j);
      if (ref?.kind !== "CronJob") return;
      const owner = this.cronJobs.get(`${j.metadata!.namespace}/${ref.name}`);
      if (owner?.metadata?.uid === ref.uid) this.enqueue(owner);
    };
    this.jobs.addEventHandler({ onAdd: jobChanged, onUpdate: (_, j) => jobChanged(j), onDelete: jobChanged });
  }

  protected allKeys(): string[] {
    return this.cronJobs.indexer.keys();
  }

  /** A new schedule or time zone is queued for its own next time; any other change is looked at now. */
  private cronJobUpdated(old: CronJob, cj: CronJob): void {
    if (old.spec?.schedule === cj.spec?.schedule && old.spec?.timeZone === cj.spec?.timeZone) {
      this.enqueue(cj);
      return;
    }
    const schedule = this.schedule(cj);
    if (!schedule) {
      this.ctx.recorder.event(cj, "Warning", "UnParseableCronJobSchedule", `unparseable schedule for cronjob: ${cj.spec?.schedule}`);
      return;
    }
    const delayMs = nextScheduleDelayMs(cj, this.now(), schedule);
    if (delayMs !== undefined) this.queue.addAfter(objectKey(cj), Math.min(MAX_REQUEUE_MS, Math.max(0, delayMs)));
  }

  private schedule(cj: CronJob): CronSchedule | undefined {
    try {
      return parseSchedule(cj.spec?.schedule ?? "", cj.spec?.timeZone);
    } catch (e) {
      if (e instanceof ScheduleParseError) return undefined;
      throw e;
    }
  }

  private record(cj: CronJob, events: readonly CronJobEvent[]): void {
    for (const e of events) this.ctx.recorder.event(cj, e.type, e.reason, e.message);
  }

  /**
   * Deletes a Job of the CronJob's in the background (its pods after it, by the garbage
   * collector), with SuccessfulDelete or FailedDelete; true if it is gone or going.
   */
  private async deleteJob(cj: CronJob, namespace: string, name: string, uid: string): Promise<boolean> {
    try {
      await ignoreNotFound(
        this.ctx.client.delete("jobs", namespace, name, { propagationPolicy: "Background", preconditions: uid ? { uid } : undefined }),
      );
    } catch (e) {
      this.ctx.recorder.event(cj, "Warning", "FailedDelete", `Deleted job: ${(e as Error).message}`);
      return false;
    }
    this.ctx.recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${name}`);
    return true;
  }

  async reconcile(key: string): Promise<void> {
    let cj = this.cronJobs.get(key);
    if (!cj) return;
    const namespace = cj.metadata!.namespace;
    const jobs = this.jobs.indexer.byIndex("namespace", namespace).filter((j) => isControlledBy(j, cj!));
    const listed = new Set((cj.status?.active ?? []).map((a) => a.uid));
    if (jobs.some((j) => !jobFinishedCondition(j) && !listed.has(j.metadata!.uid))) {
      // A Job it just created may be cached before the status that lists it: ask the API server
      // before calling the Job unexpected (Kubernetes re-reads the CronJob too).
      const fresh = await ignoreNotFound(this.ctx.client.get<CronJob>("cronjobs", namespace, cj.metadata!.name));
      if (!fresh || fresh.metadata!.uid !== cj.metadata!.uid) return;
      cj = fresh;
    }
    const status = create(CronJobStatusSchema, {
      active: [...(cj.status?.active ?? [])],
      lastScheduleTime: cj.status?.lastScheduleTime ?? "",
      lastSuccessfulTime: cj.status?.lastSuccessfulTime ?? "",
    });

    // History limits first, so the Jobs deleted leave status.active too.
    const deleted = new Set<string>();
    for (const j of historyToDelete(cj, jobs)) {
      if (await this.deleteJob(cj, namespace, j.metadata!.name, j.metadata!.uid)) deleted.add(j.metadata!.uid);
    }
    const remaining = jobs.filter((j) => !deleted.has(j.metadata!.uid));
    status.active = status.active.filter((a) => !deleted.has(a.uid));

    const seen = reconcileActive({ ...cj, status }, remaining);
    this.record(cj, seen.events);
    status.active = seen.active;
    status.lastSuccessfulTime = seen.lastSuccessfulTime;
    for (const ref of seen.unaccounted) {
      // The cache may not have seen the Job yet: only the API server can say it is gone.
      const found = await ignoreNotFound(this.ctx.client.get<Job>("jobs", ref.namespace || namespace, ref.name));
      if (found) continue;
      this.ctx.recorder.event(cj, "Normal", "MissingJob", `Active job went missing: ${ref.name}`);
      status.active = status.active.filter((a) => a.uid !== ref.uid);
    }

    try {
      const requeueAfterMs = await this.startJob(cj, status);
      if (requeueAfterMs !== undefined) this.queue.addAfter(key, Math.min(MAX_REQUEUE_MS, Math.max(0, requeueAfterMs)));
    } finally {
      if (!equals(CronJobStatusSchema, status, cj.status ?? create(CronJobStatusSchema))) {
        await writeStatus(this.ctx.client, cj, status);
      }
    }
  }

  /**
   * Starts the Job that is due, if any, and records it in `status`; returns when to look again
   * (undefined: not until the CronJob changes).
   */
  private async startJob(cj: CronJob, status: CronJob["status"] & {}): Promise<number | undefined> {
    if (cj.metadata!.deletionTimestamp) return undefined;
    const zone = cj.spec?.timeZone;
    if (zone !== undefined && !isKnownTimeZone(zone)) {
      this.ctx.recorder.event(cj, "Warning", "UnknownTimeZone", `invalid timeZone: ${JSON.stringify(zone)}: unknown time zone ${zone}`);
      return undefined;
    }
    if (cj.spec?.suspend) return undefined;
    const schedule = this.schedule(cj);
    if (!schedule) {
      this.ctx.recorder.event(cj, "Warning", "UnparseableSchedule", `unparseable schedule: ${JSON.stringify(cj.spec?.schedule)}`);
      return undefined;
    }
    const decision = startDecision({ ...cj, status }, this.now(), schedule);
    this.record(cj, decision.events);
    if (decision.action === "wait") return decision.requeueAfterMs;

    const namespace = cj.metadata!.namespace;
    for (const ref of decision.replace) {
      if (!(await this.deleteJob(cj, ref.namespace || namespace, ref.name, ref.uid))) {
        throw new Error(`could not replace job ${ref.namespace || namespace}/${ref.name}`);
      }
      status.active = status.active.filter((a) => a.uid !== ref.uid);
    }

    const wanted = jobFromTemplate(cj, decision.scheduled);
    let job: Job;
    try {
      job = await this.ctx.client.create(wanted);
      this.ctx.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${job.metadata!.name}`);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        if (!isNotFound(e)) this.ctx.recorder.event(cj, "Warning", "FailedCreate", `Error creating job: ${(e as Error).message}`);
        throw e;
      }
      // Created before, its status write lost: take it into status.active if it is ours.
      job = await this.ctx.client.get<Job>("jobs", namespace, wanted.metadata!.name);
      if (!isControlledBy(job, cj) || status.active.some((a) => a.uid === job.metadata!.uid)) return decision.requeueAfterMs;
    }
    status.active.push(jobReference(job));
    status.lastScheduleTime = formatTime(decision.scheduled);
    return decision.requeueAfterMs;
  }
}
