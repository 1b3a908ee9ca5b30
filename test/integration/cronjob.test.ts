import { execFile } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CRONJOB_INSTANTIATE_ANNOTATION,
  CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION,
  decodeObject,
  formatTime,
  type CronJob,
  type Event,
  type Job,
} from "@kubelab/api";
import { ApiClient, EventRecorder, InformerFactory } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { CronJobController } from "@kubelab/controller-manager";
import { createLogger } from "@kubelab/service-kit";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { kubectlPath, kubectlWith, noteMissingKubectl, writePlainKubeconfig } from "../support/kubectl.js";

// The CronJob controller against a real API server on real etcd, on a clock the test sets: each
// step moves it to a minute of an every-minute schedule and wakes the controller, so no test waits
// for a real minute. No Job controller runs: the test finishes Jobs by writing their status.

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000) => eventuallyWithin(what, fn, timeoutMs, 100);
const NS = "cron";
const bin = path.resolve("cli/bin/kubelab.js");
noteMissingKubectl("cronjob.test.ts");

const cronJob = (name: string, spec: Record<string, unknown> = {}) =>
  decodeObject({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: NS },
    spec: {
      schedule: "* * * * *",
      jobTemplate: {
        metadata: { labels: { cronjob: name } },
        spec: {
          template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "kubelab/shell:dev", command: ["echo", "hi"] }] } },
        },
      },
      ...spec,
    },
  }).obj as CronJob;

describe("CronJob controller against a real API server", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let informers: InformerFactory;
  let recorder: EventRecorder;
  let controller: CronJobController;
  let running: Promise<void>;
  let kubeconfig: string;
  const kubelabCli = (args: string[]) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) =>
      execFile(process.execPath, [bin, "-s", `127.0.0.1:${server.port}`, "-n", NS, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      ),
    );
  const kubectl = kubectlWith(() => kubeconfig);
  /** The controller's clock, stopped; each test sets it before its CronJob is made, then moves it. */
  let nowMs = 0;

  const minute = () => Math.floor(nowMs / 60_000);
  /** Moves the clock to `seconds` past the next minute and wakes the controller for the CronJob. */
  const nextMinute = (name: string, seconds = 2) => {
    nowMs = (minute() + 1) * 60_000 + seconds * 1000;
    controller.queue.add(`${NS}/${name}`);
  };
  /**
   * Makes a CronJob with the clock set to just before its creation (so no time is due yet), then
   * moved to its creation (nextMinute goes from there).
   */
  const createCronJob = async (name: string, spec: Record<string, unknown> = {}) => {
    nowMs = Date.now() - 2000;
    const created = await client.create(cronJob(name, spec));
    nowMs = Math.max(nowMs, Date.parse(created.metadata!.creationTimestamp));
    return created;
  };
  const jobsOf = async (name: string) =>
    (await client.list<Job>("jobs", { namespace: NS, labelSelector: `cronjob=${name}` })).items.map((j) => j.metadata!.name).sort();
  const eventLines = async (name: string) =>
    (
      await client.list<Event>("events", { namespace: NS, fieldSelector: `involvedObject.name=${name},involvedObject.kind=CronJob` })
    ).items.map((e) => `${e.type} ${e.reason} ${e.message}`);
  const finish = async (jobName: string, type: "Complete" | "Failed") => {
    const j = await client.get<Job>("jobs", NS, jobName);
    const t = formatTime();
    j.status = decodeObject({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: jobName },
      status: {
        startTime: t,
        ...(type === "Complete" && { completionTime: t }),
        conditions: [{ type, status: "True", lastTransitionTime: t }],
      },
    }).obj.status as Job["status"];
    await client.updateStatus(j);
  };

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    await client.create(decodeObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }).obj);
    kubeconfig = writePlainKubeconfig(`http://127.0.0.1:${server.httpPort}`);
    const controllerClient = new ApiClient(`127.0.0.1:${server.port}`);
    informers = new InformerFactory(controllerClient);
    recorder = new EventRecorder(controllerClient, { component: "cronjob-controller", instance: "test" });
    controller = new CronJobController(
      { client: controllerClient, informers, recorder, log: createLogger("cronjob", () => {}) },
      { now: () => new Date(nowMs) },
    );
    await informers.start();
    running = controller.run(2);
  });
  afterAll(async () => {
    controller?.stop();
    await running;
    informers?.stop();
    await recorder?.flush();
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("creates the Job of the scheduled time: named after it in minutes, controlled by the CronJob, with the scheduled-timestamp annotation", async () => {
    await createCronJob("every", { timeZone: "Europe/Berlin" });
    nextMinute("every");
    const name = `every-${minute()}`;
    const job = await eventually("the Job", () => client.get<Job>("jobs", NS, name));
    const cj = await client.get<CronJob>("cronjobs", NS, "every");
    expect(job.metadata!.ownerReferences.map((r) => [r.apiVersion, r.kind, r.name, r.uid, r.controller])).toEqual([
      ["batch/v1", "CronJob", "every", cj.metadata!.uid, true],
    ]);
    const berlinOffset = new Intl.DateTimeFormat("en-US", { timeZone: "Europe/Berlin", timeZoneName: "longOffset" })
      .formatToParts(new Date(minute() * 60_000))
      .find((p) => p.type === "timeZoneName")!
      .value.replace("GMT", "");
    expect(job.metadata!.annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]).toMatch(
      new RegExp(`^\\d{4}-.*T.*${berlinOffset.replace("+", "\\+")}$`),
    );
    expect(Date.parse(job.metadata!.annotations[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]!)).toBe(minute() * 60_000);
    expect(job.metadata!.labels.cronjob).toBe("every");
    await eventually("status.active and lastScheduleTime", async () => {
      const s = (await client.get<CronJob>("cronjobs", NS, "every")).status;
      expect(s?.active.map((a) => a.name)).toEqual([name]);
      expect(s?.lastScheduleTime).toBe(formatTime(minute() * 60_000));
    });
    await eventually("SuccessfulCreate", async () =>
      expect(await eventLines("every")).toContain(`Normal SuccessfulCreate Created job ${name}`),
    );
    // Waking it again in the same minute starts nothing more.
    controller.queue.add(`${NS}/every`);
    await new Promise((r) => setTimeout(r, 500));
    expect(await jobsOf("every")).toEqual([name]);
  });

  it("Forbid starts nothing while its Job runs, and starts the held-back time once it has finished", async () => {
    await createCronJob("forbid", { concurrencyPolicy: "Forbid" });
    nextMinute("forbid");
    const first = `forbid-${minute()}`;
    await eventually("the first Job in status.active", async () => {
      expect((await client.get<CronJob>("cronjobs", NS, "forbid")).status?.active.map((a) => a.name)).toEqual([first]);
    });
    nextMinute("forbid");
    await eventually("JobAlreadyActive", async () =>
      expect(await eventLines("forbid")).toContain(
        "Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid",
      ),
    );
    expect(await jobsOf("forbid")).toEqual([first]);

    await finish(first, "Complete");
    // The minute it held back has no starting deadline: its Job starts as soon as the first is done.
    const held = `forbid-${minute()}`;
    await eventually("SawCompletedJob, and the held-back Job started in its place", async () => {
      expect(await eventLines("forbid")).toContain(`Normal SawCompletedJob Saw completed job: ${first}, condition: Complete`);
      const s = (await client.get<CronJob>("cronjobs", NS, "forbid")).status;
      expect(s?.active.map((a) => a.name)).toEqual([held]);
      expect(s?.lastSuccessfulTime).not.toBe("");
    });
    expect(await jobsOf("forbid")).toEqual([first, held].sort());
  });

  it("Replace deletes the running Job and starts the new one", async () => {
    await createCronJob("replace", { concurrencyPolicy: "Replace" });
    nextMinute("replace");
    const first = `replace-${minute()}`;
    await eventually("the first Job", async () => expect(await jobsOf("replace")).toEqual([first]));
    await eventually("it in status.active", async () =>
      expect((await client.get<CronJob>("cronjobs", NS, "replace")).status?.active.map((a) => a.name)).toEqual([first]),
    );
    nextMinute("replace");
    const second = `replace-${minute()}`;
    await eventually("the first replaced by the second", async () => {
      expect(await jobsOf("replace")).toEqual([second]);
      expect((await client.get<CronJob>("cronjobs", NS, "replace")).status?.active.map((a) => a.name)).toEqual([second]);
    });
    expect(await eventLines("replace")).toContain(`Normal SuccessfulDelete Deleted job ${first}`);
  });

  it("starts nothing while suspended, and the most recent time once resumed", async () => {
    await createCronJob("paused", { suspend: true });
    nextMinute("paused");
    nextMinute("paused");
    await new Promise((r) => setTimeout(r, 1000));
    expect(await jobsOf("paused")).toEqual([]);

    await client.patch("cronjobs", NS, "paused", { spec: { suspend: false } });
    await eventually("one Job, of the latest minute", async () => expect(await jobsOf("paused")).toEqual([`paused-${minute()}`]));
  });

  it("keeps successfulJobsHistoryLimit succeeded and failedJobsHistoryLimit failed Jobs, deleting the oldest", async () => {
    await createCronJob("history", { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 });
    const made: string[] = [];
    for (const outcome of ["Complete", "Complete", "Failed", "Failed"] as const) {
      nextMinute("history");
      const name = `history-${minute()}`;
      await eventually(`${name}`, () => client.get<Job>("jobs", NS, name));
      await finish(name, outcome);
      made.push(name);
      // Each Job finishes a second after the one before: the oldest is the first.
      await new Promise((r) => setTimeout(r, 1100));
    }
    controller.queue.add(`${NS}/history`);
    await eventually("the newest succeeded and the newest failed Job kept", async () => {
      expect(await jobsOf("history")).toEqual([made[1], made[3]].sort());
    });
    const events = await eventLines("history");
    expect(events).toContain(`Normal SuccessfulDelete Deleted job ${made[0]}`);
    expect(events).toContain(`Normal SuccessfulDelete Deleted job ${made[2]}`);
  });

  it("kubelab create job --from=cronjob/NAME makes a Job of the template, marked manual and owned by the CronJob", async () => {
    await createCronJob("manual", { suspend: true });
    const r = await kubelabCli(["create", "job", "manual-now", "--from=cronjob/manual"]);
    expect(r).toEqual({ stdout: "job.batch/manual-now created\n", stderr: "", code: 0 });
    const get = await kubelabCli(["get", "cj", "manual"]);
    expect(get.stdout.split("\n")[0]!.split(/\s{2,}/)).toEqual([
      "NAME",
      "SCHEDULE",
      "TIMEZONE",
      "SUSPEND",
      "ACTIVE",
      "LAST SCHEDULE",
      "AGE",
    ]);
    expect(
      get.stdout
        .split("\n")[1]!
        .split(/\s{2,}/)
        .slice(0, 6),
    ).toEqual(["manual", "* * * * *", "<none>", "True", "0", "<none>"]);
    const described = (await kubelabCli(["describe", "cronjob", "manual"])).stdout;
    expect(described).toContain("Schedule:                      * * * * *");
    expect(described).toContain("Suspend:                       True");
    const job = await client.get<Job>("jobs", NS, "manual-now");
    const cj = await client.get<CronJob>("cronjobs", NS, "manual");
    expect(job.metadata!.annotations[CRONJOB_INSTANTIATE_ANNOTATION]).toBe("manual");
    expect(job.metadata!.labels.cronjob).toBe("manual");
    expect(job.metadata!.ownerReferences.map((r) => [r.kind, r.name, r.uid])).toEqual([["CronJob", "manual", cj.metadata!.uid]]);
    expect(job.spec!.template!.spec!.containers[0]!.image).toBe("kubelab/shell:dev");

    const missing = await kubelabCli(["create", "job", "x", "--from=cronjob/nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('cronjobs.batch "nope" not found');
  });

  it.skipIf(!kubectlPath)(
    "works with kubectl: create cronjob (a protobuf body), get cronjobs, create job --from, and its validation errors",
    async () => {
      nowMs = Date.now() - 2000;
      expect(
        (await kubectl(["create", "cronjob", "kc", "-n", NS, "--image=kubelab/shell:dev", "--schedule=*/5 * * * *", "--", "echo", "hi"]))
          .stdout,
      ).toBe("cronjob.batch/kc created\n");
      const table = (await kubectl(["get", "cj", "kc", "-n", NS, "-o", "wide"])).stdout.split("\n");
      expect(table[0]!.split(/\s{2,}/)).toEqual([
        "NAME",
        "SCHEDULE",
        "TIMEZONE",
        "SUSPEND",
        "ACTIVE",
        "LAST SCHEDULE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
      ]);
      expect(table[1]!.split(/\s{2,}/).slice(0, 6)).toEqual(["kc", "*/5 * * * *", "<none>", "False", "0", "<none>"]);
      expect((await kubectl(["create", "job", "kc-now", "-n", NS, "--from=cronjob/kc"])).stdout).toBe("job.batch/kc-now created\n");
      const job = await client.get<Job>("jobs", NS, "kc-now");
      expect(job.metadata!.annotations[CRONJOB_INSTANTIATE_ANNOTATION]).toBe("manual");
      expect(job.metadata!.ownerReferences.map((r) => [r.kind, r.name])).toEqual([["CronJob", "kc"]]);
      const bad = await kubectl(["create", "cronjob", "bad", "-n", NS, "--image=busybox", "--schedule=61 * * * *"]);
      expect(bad.stderr).toContain('spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61');
    },
  );
});
