import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { JOB_CONTROLLER_UID_LABEL, JobSchema, type JobStatusSchema, PodSchema, type Job, type JobStatus, type Pod } from "@kubelab/api";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { drainQueue, newFixture, timestamp, type Fixture } from "../testing/fakes.js";
import { JobController } from "./jobController.js";

// After sample-controller's controller_test.go: the Job and its pods fed to the informers by hand,
// reconcile called directly, the fake client's actions and the recorded events compared with the rule.

const NOW = new Date("2026-03-01T12:00:00Z");
const BACKOFF_SECONDS = 10;
const KEY = "default/pi";

interface JobSpecPart {
  parallelism?: number;
  completions?: number;
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  suspend?: boolean;
  restartPolicy?: string;
}

const job = (spec: JobSpecPart = {}, status: Omit<MessageInitShape<typeof JobStatusSchema>, "$typeName"> = {}): Job =>
  create(JobSchema, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "uid-pi", resourceVersion: "5" },
    spec: {
      parallelism: spec.parallelism ?? 1,
      completions: spec.completions ?? 1,
      backoffLimit: spec.backoffLimit ?? 6,
      activeDeadlineSeconds: spec.activeDeadlineSeconds,
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
      suspend: spec.suspend ?? false,
      selector: { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: "uid-pi" } },
      template: {
        metadata: { labels: { [JOB_CONTROLLER_UID_LABEL]: "uid-pi", "job-name": "pi" } },
        spec: { restartPolicy: spec.restartPolicy ?? "Never", containers: [{ name: "pi", image: "busybox" }] },
      },
    },
    status: { startTime: timestamp(), ...status },
  });

type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

interface PodPart {
  ready?: boolean;
  /** Seconds before now its container failed (exit code 1). */
  failedSecondsAgo?: number;
  restarts?: number;
  createdSecondsAgo?: number;
}

let podCount = 0;
const pod = (phase: Phase, opts: PodPart = {}): Pod => {
  const name = `pi-${++podCount}`;
  return create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      creationTimestamp: timestamp(-(opts.createdSecondsAgo ?? 60)),
      labels: { [JOB_CONTROLLER_UID_LABEL]: "uid-pi", "job-name": "pi" },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "pi", uid: "uid-pi", controller: true, blockOwnerDeletion: true }],
    },
    spec: { nodeName: "node-1", containers: [{ name: "pi", image: "busybox" }] },
    status: {
      phase,
      conditions: opts.ready ? [{ type: "Ready", status: "True", lastTransitionTime: timestamp(-30) }] : [],
      containerStatuses: [
        {
          name: "pi",
          restartCount: opts.restarts ?? 0,
          state:
            opts.failedSecondsAgo !== undefined
              ? { terminated: { exitCode: 1, reason: "Error", finishedAt: timestamp(-opts.failedSecondsAgo) } }
              : undefined,
        },
      ],
    },
  });
};

/** Pods failed long enough ago that no back-off holds the next one. */
const failed = (n: number) => Array.from({ length: n }, () => pod("Failed", { failedSecondsAgo: 3600 }));

describe("JobController.reconcile", () => {
  let f: Fixture;
  let jc: JobController;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    podCount = 0;
    f = newFixture();
  });

  afterEach(() => {
    jc?.stop();
    vi.useRealTimers();
  });

  const start = async (...objs: Array<Job | Pod>) => {
    f.seed(...objs);
    jc = new JobController(f.ctx, { podFailureBackoffSeconds: BACKOFF_SECONDS });
    await drainQueue(jc.queue);
  };

  const creates = () => f.client.writes().filter((a) => a.verb === "create" && a.resource === "pods");
  const podDeletes = () =>
    f.client
      .writes()
      .filter((a) => a.verb === "delete" && a.resource === "pods")
      .map((a) => a.name);
  /** The status of the Job's last status write. */
  const statusWritten = () => {
    const w = f.client.writes().filter((a) => a.verb === "updateStatus" && a.resource === "jobs");
    return (w.at(-1)?.object as Job | undefined)?.status;
  };
  const condition = (s: JobStatus | undefined) => s?.conditions.map((c) => [c.type, c.status, c.reason, c.message]);

  describe("pods", () => {
    it("creates pods up to parallelism, from the template, controlled by the Job", async () => {
      await start(job({ parallelism: 3, completions: 5 }));

      await jc.reconcile(KEY);

      expect(creates()).toHaveLength(3);
      const sent = creates()[0]!.object as Pod;
      expect(sent.metadata!.generateName).toBe("pi-");
      expect(sent.metadata!.labels[JOB_CONTROLLER_UID_LABEL]).toBe("uid-pi");
      expect(sent.metadata!.ownerReferences.map((r) => [r.kind, r.name, r.uid, r.controller, r.blockOwnerDeletion])).toEqual([
        ["Job", "pi", "uid-pi", true, true],
      ]);
      expect(sent.spec!.restartPolicy).toBe("Never");
      expect(f.recorder.lines()).toEqual([
        "Normal SuccessfulCreate Created pod: pi-00001",
        "Normal SuccessfulCreate Created pod: pi-00002",
        "Normal SuccessfulCreate Created pod: pi-00003",
      ]);
    });

    it("creates no more than the completions still missing, counting the active pods", async () => {
      await start(job({ parallelism: 3, completions: 4 }), pod("Succeeded"), pod("Succeeded"), pod("Running"));

      await jc.reconcile(KEY);

      // min(parallelism 3, 4 - 2 succeeded) - 1 active = 1
      expect(creates()).toHaveLength(1);
    });

    it("creates nothing while parallelism pods are active", async () => {
      await start(job({ parallelism: 2, completions: 5 }), pod("Running"), pod("Pending"));

      await jc.reconcile(KEY);

      expect(creates()).toEqual([]);
    });

    it("does not create again until its informer has seen the pods it created (expectations)", async () => {
      await start(job({ parallelism: 2, completions: 5 }));
      await jc.reconcile(KEY);
      expect(creates()).toHaveLength(2);

      await jc.reconcile(KEY);
      expect(creates()).toHaveLength(2);

      // The informer sees both creations; the next reconcile acts on what it sees.
      for (const p of f.client.objects<Pod>("pods")) f.informers.for<Pod>("pods").add(p);
      await jc.reconcile(KEY);
      expect(creates()).toHaveLength(2);
      expect(statusWritten()?.active).toBe(2);
    });

    it("ignores pods another controller owns, or that its selector does not match", async () => {
      const foreign = pod("Succeeded");
      foreign.metadata!.ownerReferences[0]!.uid = "uid-other";
      const unlabeled = pod("Succeeded");
      unlabeled.metadata!.labels = {};
      await start(job({ completions: 1 }), foreign, unlabeled);

      await jc.reconcile(KEY);

      expect(creates()).toHaveLength(1);
      expect(statusWritten()?.succeeded).toBe(0);
    });

    it("deletes active pods beyond parallelism, newest first", async () => {
      const older = pod("Running", { createdSecondsAgo: 300 });
      const newer = pod("Running", { createdSecondsAgo: 10 });
      await start(job({ parallelism: 1, completions: 5 }), older, newer);

      await jc.reconcile(KEY);

      expect(podDeletes()).toEqual([newer.metadata!.name]);
      expect(f.client.writes().find((a) => a.verb === "delete")!.deleteOptions).toEqual({ preconditions: { uid: newer.metadata!.uid } });
      expect(f.recorder.lines()).toEqual([`Normal SuccessfulDelete Deleted pod: ${newer.metadata!.name}`]);
    });

    it("creates no pods while suspended", async () => {
      await start(job({ parallelism: 2, completions: 2, suspend: true }));

      await jc.reconcile(KEY);

      expect(creates()).toEqual([]);
    });

    it("waits out the failure back-off (podFailureBackoffSeconds after the last failure) before the next pod", async () => {
      await start(job({ completions: 1, backoffLimit: 6 }), pod("Failed", { failedSecondsAgo: 4 }));

      await jc.reconcile(KEY);
      expect(creates()).toEqual([]);
      expect(jc.queue.length).toBe(0);
      vi.advanceTimersByTime((BACKOFF_SECONDS - 4) * 1000);
      expect(jc.queue.length).toBe(1);

      await jc.reconcile(KEY);
      expect(creates()).toHaveLength(1);
    });

    it("doubles the back-off with each failure", async () => {
      // Two failures: 10 s · 2 = 20 s after the last one.
      await start(job({ completions: 1 }), pod("Failed", { failedSecondsAgo: 60 }), pod("Failed", { failedSecondsAgo: 15 }));

      await jc.reconcile(KEY);
      expect(creates()).toEqual([]);

      vi.advanceTimersByTime(5000);
      await jc.reconcile(KEY);
      expect(creates()).toHaveLength(1);
    });
  });

  describe("status", () => {
    it("counts succeeded, failed, active and ready pods", async () => {
      await start(
        job({ parallelism: 2, completions: 10 }),
        pod("Succeeded"),
        pod("Succeeded"),
        ...failed(1),
        pod("Running", { ready: true }),
        pod("Pending"),
      );

      await jc.reconcile(KEY);

      const s = statusWritten()!;
      expect([s.active, s.ready, s.succeeded, s.failed]).toEqual([2, 1, 2, 1]);
      expect(s.startTime).toBe(timestamp());
      expect(s.conditions).toEqual([]);
    });

    it("sets startTime on the first sync", async () => {
      const j = job({ parallelism: 1 });
      j.status = undefined;
      await start(j);

      await jc.reconcile(KEY);

      expect(statusWritten()?.startTime).toBe("2026-03-01T12:00:00Z");
    });

    it("is not written when nothing changed", async () => {
      // ready is optional: written as 0, it is present in what the controller compares.
      const j = job({ parallelism: 1, completions: 2 }, { active: 1, succeeded: 1, ready: 0 });
      await start(j, pod("Succeeded"), pod("Running"));

      await jc.reconcile(KEY);

      expect(f.client.writes()).toEqual([]);
    });
  });

  describe("completion", () => {
    it("marks the Job Complete once completions pods succeeded, with completionTime and a Completed event", async () => {
      await start(job({ parallelism: 2, completions: 2 }), pod("Succeeded"), pod("Succeeded"));

      await jc.reconcile(KEY);

      const s = statusWritten()!;
      expect(condition(s)).toEqual([["Complete", "True", "", ""]]);
      expect(s.completionTime).toBe("2026-03-01T12:00:00Z");
      expect([s.succeeded, s.active]).toEqual([2, 0]);
      expect(creates()).toEqual([]);
      expect(f.recorder.lines()).toEqual(["Normal Completed Job completed"]);
    });

    it("is not Complete with fewer successes than completions", async () => {
      await start(job({ parallelism: 1, completions: 3 }), pod("Succeeded"), pod("Succeeded"));

      await jc.reconcile(KEY);

      expect(condition(statusWritten())).toEqual([]);
      expect(creates()).toHaveLength(1);
    });
  });

  describe("failure", () => {
    it('fails the Job with reason "BackoffLimitExceeded" once failures exceed backoffLimit, and deletes its active pods', async () => {
      const running = pod("Running");
      await start(job({ parallelism: 2, completions: 5, backoffLimit: 2 }), ...failed(3), running);

      await jc.reconcile(KEY);

      const s = statusWritten()!;
      expect(condition(s)).toEqual([["Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"]]);
      expect([s.failed, s.active]).toEqual([3, 0]);
      expect(podDeletes()).toEqual([running.metadata!.name]);
      expect(creates()).toEqual([]);
      expect(f.recorder.lines()).toContain("Warning BackoffLimitExceeded Job has reached the specified backoff limit");
    });

    it("is not Failed with failures equal to backoffLimit", async () => {
      await start(job({ completions: 1, backoffLimit: 2 }), ...failed(2));

      await jc.reconcile(KEY);

      expect(condition(statusWritten())).toEqual([]);
      expect(creates()).toHaveLength(1);
    });

    it("with restartPolicy OnFailure, counts container restarts as failures", async () => {
      await start(job({ completions: 1, backoffLimit: 2, restartPolicy: "OnFailure" }), pod("Running", { restarts: 3 }));

      await jc.reconcile(KEY);

      expect(condition(statusWritten())).toEqual([
        ["Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"],
      ]);
      expect(statusWritten()!.failed).toBe(3);
    });

    it("with restartPolicy Never, does not count container restarts", async () => {
      await start(job({ completions: 1, backoffLimit: 2 }), pod("Running", { restarts: 3 }));

      await jc.reconcile(KEY);

      expect(condition(statusWritten())).toEqual([]);
    });

    it('fails the Job with reason "DeadlineExceeded" once activeDeadlineSeconds passed since startTime, and deletes its active pods', async () => {
      const running = pod("Running");
      await start(job({ activeDeadlineSeconds: 60 }, { startTime: timestamp(-60) }), running);

      await jc.reconcile(KEY);

      expect(condition(statusWritten())).toEqual([["Failed", "True", "DeadlineExceeded", "Job was active longer than specified deadline"]]);
      expect(podDeletes()).toEqual([running.metadata!.name]);
      expect(f.recorder.lines()).toContain("Warning DeadlineExceeded Job was active longer than specified deadline");
    });

    it("is not past its deadline a second before it, and looks again at the deadline", async () => {
      await start(job({ activeDeadlineSeconds: 60 }, { startTime: timestamp(-59), active: 1, ready: 0 }), pod("Running"));

      await jc.reconcile(KEY);
      expect(f.client.writes()).toEqual([]);
      vi.advanceTimersByTime(999);
      expect(jc.queue.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(jc.queue.length).toBe(1);

      await jc.reconcile(KEY);
      expect(condition(statusWritten())).toEqual([["Failed", "True", "DeadlineExceeded", "Job was active longer than specified deadline"]]);
    });
  });

  describe("a finished Job", () => {
    it("is left alone: no pods, no status write", async () => {
      const done = job(
        { completions: 1 },
        { succeeded: 1, conditions: [{ type: "Complete", status: "True", lastTransitionTime: timestamp(-10) }] },
      );
      await start(done);

      await jc.reconcile(KEY);

      expect(f.client.actions).toEqual([]);
    });

    it("is deleted (background, uid precondition) ttlSecondsAfterFinished after it finished, not before", async () => {
      const done = job(
        { completions: 1, ttlSecondsAfterFinished: 30 },
        { conditions: [{ type: "Complete", status: "True", lastTransitionTime: timestamp(-20) }] },
      );
      await start(done);

      await jc.reconcile(KEY);
      expect(f.client.writes()).toEqual([]);

      vi.advanceTimersByTime(10_000);
      await jc.reconcile(KEY);
      expect(f.client.writes().map((a) => [a.verb, a.resource, a.name, a.deleteOptions])).toEqual([
        ["delete", "jobs", "pi", { preconditions: { uid: "uid-pi" }, propagationPolicy: "Background" }],
      ]);
    });
  });

  it("a Job being deleted, or gone from the cache, is not acted on", async () => {
    const deleting = job({ parallelism: 2 });
    deleting.metadata!.deletionTimestamp = timestamp();
    await start(deleting);

    await jc.reconcile(KEY);
    await jc.reconcile("default/nope");

    expect(f.client.actions).toEqual([]);
  });
});
