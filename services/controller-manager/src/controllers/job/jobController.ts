import { create, equals } from "@bufbuild/protobuf";
import {
  JobConditionSchema,
  JobStatusSchema,
  LabelSelector,
  formatTime,
  isPodActive,
  isPodReady,
  jobFinishedCondition,
  type Job,
  type JobCondition,
  type Pod,
} from "@kubelab/api";
import { ExponentialBackoff, ignoreNotFound, objectKey, splitKey, writeStatus, type Informer } from "@kubelab/client";
import { Expectations } from "../expectations.js";
import { controllerRef, newControllerRef } from "../ownerRefs.js";
import { PodControl, slowStartBatch } from "../podControl.js";
import { QueueController, type ControllerContext } from "../queueController.js";

export interface JobControllerOptions {
  /** Back-off before a failed Job's next pod: this, doubling, up to 6 minutes (Kubernetes: 10 s). */
  podFailureBackoffSeconds: number;
}

const MAX_BACKOFF_MS = 6 * 60_000;

const isFinished = (j: Job) => jobFinishedCondition(j) !== undefined;

/**
 * Kubernetes' Job controller: runs pods until `completions` succeed, at most `parallelism` at a
 * time; failed pods (and, with restartPolicy OnFailure, container restarts) count against
 * backoffLimit, with a doubling back-off before the next pod; activeDeadlineSeconds bounds the
 * whole Job; the Complete or Failed condition ends it; ttlSecondsAfterFinished deletes it later.
 */
export class JobController extends QueueController {
  readonly name = "job";
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly expectations = new Expectations();
  private readonly podControl: PodControl;

  constructor(
    ctx: ControllerContext,
    private readonly opts: JobControllerOptions,
  ) {
    super(ctx);
    this.jobs = ctx.informers.for<Job>("jobs");
    this.pods = ctx.informers.for<Pod>("pods");
    this.podControl = new PodControl(ctx.client, ctx.recorder);
    this.jobs.addEventHandler({
      onAdd: (j) => this.enqueue(j),
      onUpdate: (_, j) => this.enqueue(j),
      onDelete: (j) => this.expectations.forget(objectKey(j)),
    });
    const podChanged = (p: Pod, observe?: "add" | "delete") => {
      const ref = controllerRef(p);
      if (ref?.kind !== "Job") return;
      const key = `${p.metadata!.namespace}/${ref.name}`;
      if (observe === "add") this.expectations.creationObserved(key);
      if (observe === "delete") this.expectations.deletionObserved(key, p.metadata!.uid);
      this.queue.add(key);
    };
    this.pods.addEventHandler({
      onAdd: (p) => podChanged(p, "add"),
      onUpdate: (_, p) => podChanged(p),
      onDelete: (p) => podChanged(p, "delete"),
    });
  }

  protected allKeys(): string[] {
    return this.jobs.indexer.keys();
  }

  async reconcile(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job || job.metadata!.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const selector = LabelSelector.fromMessage(job.spec?.selector);
    const pods = this.pods.indexer
      .byIndex("namespace", namespace)
      .filter((p) => controllerRef(p)?.uid === job.metadata!.uid && selector.matches(p.metadata?.labels));
    const active = pods.filter(isPodActive);
    const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
    const failedPods = pods.filter((p) => p.status?.phase === "Failed").length;
    const restarts =
      job.spec?.template?.spec?.restartPolicy === "OnFailure"
        ? pods.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m, c) => m + c.restartCount, 0), 0)
        : 0;
    const failed = failedPods + restarts;
    const completions = job.spec?.completions ?? 1;
    const parallelism = job.spec?.parallelism ?? 1;
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const startTime = job.status?.startTime || formatTime();
    const conditions = [...(job.status?.conditions ?? [])];
    let completionTime = job.status?.completionTime ?? "";

    if (isFinished(job)) {
      await this.deleteAfterTtl(job);
      return;
    }

    let finish: JobCondition | undefined;
    const deadline = job.spec?.activeDeadlineSeconds;
    if (failed > backoffLimit) {
      finish = this.condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    } else if (deadline !== undefined && Date.now() - Date.parse(startTime) >= deadline * 1000) {
      finish = this.condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
    } else if (succeeded >= completions) {
      finish = this.condition("Complete", "", "");
      completionTime = formatTime();
    }

    if (finish) {
      for (const p of active) await this.podControl.delete(job, p);
      conditions.push(finish);
      this.ctx.recorder.event(
        job,
        finish.type === "Complete" ? "Normal" : "Warning",
        finish.type === "Complete" ? "Completed" : finish.reason,
        finish.type === "Complete" ? "Job completed" : finish.message,
      );
    } else if (!job.spec?.suspend && this.expectations.satisfied(key)) {
      const want = Math.min(parallelism, completions - succeeded) - active.length;
      if (want > 0) {
        const wait = this.backoffRemaining(pods, failed);
        if (wait > 0) {
          this.queue.addAfter(key, wait);
        } else {
          this.expectations.expectCreations(key, want);
          const ref = newControllerRef(job, "batch/v1", "Job");
          const { done, error } = await slowStartBatch(want, () => this.podControl.create(job, job.spec!.template!, ref));
          for (let i = done; i < want; i++) this.expectations.creationObserved(key);
          if (error) throw error;
        }
      } else if (want < 0) {
        const extra = active.sort((a, b) => (b.metadata!.creationTimestamp > a.metadata!.creationTimestamp ? 1 : -1)).slice(0, -want);
        this.expectations.expectDeletions(
          key,
          extra.map((p) => p.metadata!.uid),
        );
        for (const p of extra) await this.podControl.delete(job, p);
      }
      if (deadline !== undefined) this.queue.addAfter(key, Math.max(100, Date.parse(startTime) + deadline * 1000 - Date.now()));
    }

    const status = create(JobStatusSchema, {
      conditions,
      startTime,
      completionTime,
      active: finish ? 0 : active.length,
      succeeded,
      failed,
      ready: active.filter(isPodReady).length,
    });
    if (!job.status || !equals(JobStatusSchema, job.status, status)) {
      await writeStatus(this.ctx.client, job, status);
    }
  }

  private condition(type: string, reason: string, message: string): JobCondition {
    const t = formatTime();
    return create(JobConditionSchema, { type, status: "True", reason, message, lastProbeTime: t, lastTransitionTime: t });
  }

  /** Kubernetes' pod failure back-off: base·2^(failures-1) from the last failure, up to 6 minutes. */
  private backoffRemaining(pods: Pod[], failed: number): number {
    if (failed === 0) return 0;
    const lastFailure = Math.max(
      0,
      ...pods.flatMap((p) =>
        (p.status?.containerStatuses ?? []).map((c) => {
          const t = c.state?.terminated ?? c.lastState?.terminated;
          return t && t.exitCode !== 0 ? Date.parse(t.finishedAt) || 0 : 0;
        }),
      ),
    );
    const delay = new ExponentialBackoff({ baseDelayMs: this.opts.podFailureBackoffSeconds * 1000, maxDelayMs: MAX_BACKOFF_MS }).delayFor(
      failed - 1,
    );
    return Math.max(0, lastFailure + delay - Date.now());
  }

  private async deleteAfterTtl(job: Job): Promise<void> {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined) return;
    const finished = job.status?.conditions.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
    const at = (Date.parse(finished?.lastTransitionTime ?? "") || Date.now()) + ttl * 1000;
    if (at > Date.now()) {
      this.queue.addAfter(objectKey(job), at - Date.now() + 50);
      return;
    }
    await ignoreNotFound(
      this.ctx.client.delete("jobs", job.metadata!.namespace, job.metadata!.name, {
        preconditions: { uid: job.metadata!.uid },
        propagationPolicy: "Background",
      }),
    );
  }
}
