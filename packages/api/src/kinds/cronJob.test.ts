import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CronJobSchema, type CronJob } from "../gen/kubelab/batch/v1/cronjob_pb.js";
import { objectToJson } from "../codec.js";
import { kindFor } from "../registry.js";
import "./index.js";

const def = kindFor("batch/v1", "CronJob")!;
const cronJob = (spec: Record<string, unknown> = {}, name = "hello") =>
  create(CronJobSchema, {
    metadata: { name, namespace: "default" },
    spec: {
      schedule: "*/1 * * * *",
      jobTemplate: {
        spec: {
          template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "hello", image: "kubelab/shell:dev" }] } },
        },
      },
      ...spec,
    },
  } as never);
const defaulted = (cj: CronJob) => {
  def.defaults!(cj);
  return cj;
};
const errors = (cj: CronJob) => def.validate!(defaulted(cj)).map((e) => e.toString());
const row = (cj: CronJob, now = new Date()) => def.columns.map((c) => c.value(cj, now));

describe("CronJob defaulting (batch/v1 SetDefaults_CronJob)", () => {
  it("sets concurrencyPolicy Allow, suspend false and history limits of 3 successful and 1 failed", () => {
    expect(objectToJson(defaulted(cronJob()))).toMatchObject({
      spec: { concurrencyPolicy: "Allow", suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 },
    });
  });

  it("keeps what was given, zero limits included", () => {
    const cj = defaulted(cronJob({ concurrencyPolicy: "Forbid", suspend: true, successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 }));
    expect(objectToJson(cj)).toMatchObject({
      spec: { concurrencyPolicy: "Forbid", suspend: true, successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 },
    });
  });

  it("gives the job template's pod a Pod's defaults", () => {
    const pod = defaulted(cronJob()).spec!.jobTemplate!.spec!.template!.spec!;
    expect(pod.dnsPolicy).toBe("ClusterFirst");
  });
});

describe("CronJob validation (batch/v1 ValidateCronJobCreate)", () => {
  it("accepts a valid CronJob", () => {
    expect(errors(cronJob())).toEqual([]);
    expect(errors(cronJob({ schedule: "@hourly", timeZone: "Europe/Berlin", startingDeadlineSeconds: 30 }))).toEqual([]);
  });

  it("refuses a schedule robfig/cron does not parse, in its words", () => {
    expect(errors(cronJob({ schedule: "60 * * * *" }))).toEqual([
      'spec.schedule: Invalid value: "60 * * * *": end of range (60) above maximum (59): 60',
    ]);
    expect(errors(cronJob({ schedule: "* * *" }))).toEqual([
      'spec.schedule: Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]',
    ]);
    expect(errors(cronJob({ schedule: "" }))).toEqual(["spec.schedule: Required value"]);
  });

  it("refuses TZ= and CRON_TZ= in the schedule: the time zone goes in spec.timeZone", () => {
    expect(errors(cronJob({ schedule: "TZ=UTC 0 * * * *" }))).toEqual([
      'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    ]);
    expect(errors(cronJob({ schedule: "CRON_TZ=Mars/Olympus 0 * * * *" }))).toEqual([
      'spec.schedule: Invalid value: "CRON_TZ=Mars/Olympus 0 * * * *": provided bad location Mars/Olympus: unknown time zone Mars/Olympus',
      'spec.schedule: Invalid value: "CRON_TZ=Mars/Olympus 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
    ]);
  });

  it("refuses a time zone the zone database does not know, Local and the empty string", () => {
    expect(errors(cronJob({ timeZone: "Mars/Olympus" }))).toEqual([
      'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
    ]);
    expect(errors(cronJob({ timeZone: "../etc/passwd" }))).toEqual([
      'spec.timeZone: Invalid value: "../etc/passwd": unknown time zone ../etc/passwd',
    ]);
    expect(errors(cronJob({ timeZone: "Local" }))).toEqual([
      'spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones',
    ]);
    expect(errors(cronJob({ timeZone: "" }))).toEqual(['spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string']);
  });

  it("refuses a name longer than 52 characters, the Job's suffix needing the rest", () => {
    expect(errors(cronJob({}, "a".repeat(52)))).toEqual([]);
    expect(errors(cronJob({}, "a".repeat(53)))).toEqual([
      `metadata.name: Invalid value: "${"a".repeat(53)}": must be no more than 52 characters`,
    ]);
  });

  it("refuses an unknown concurrency policy and negative numbers", () => {
    expect(
      errors(
        cronJob({
          concurrencyPolicy: "Sometimes",
          startingDeadlineSeconds: -1,
          successfulJobsHistoryLimit: -1,
          failedJobsHistoryLimit: -2,
        }),
      ),
    ).toEqual([
      "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
      'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
      "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
      "spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
    ]);
  });

  it("validates the job template as a Job's spec whose selector is generated", () => {
    const cj = cronJob({
      jobTemplate: {
        spec: {
          backoffLimit: -1,
          selector: { matchLabels: { a: "b" } },
          template: { spec: { restartPolicy: "Always", containers: [{ name: "hello", image: "busybox" }] } },
        },
      },
    });
    expect(errors(cj)).toEqual([
      "spec.jobTemplate.spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
      'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
      'spec.jobTemplate.spec.selector: Invalid value: "a=b": `selector` will be auto-generated',
    ]);
    expect(errors(cronJob({ jobTemplate: { spec: {} } }))).toEqual(["spec.jobTemplate.spec.template: Required value"]);
  });
});

describe("kubelab get cronjobs (kubectl's columns)", () => {
  it("prints SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE, and CONTAINERS IMAGES SELECTOR wide", () => {
    expect(def.columns.map((c) => c.name)).toEqual([
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
    const now = new Date("2026-03-01T12:00:00Z");
    const cj = defaulted(cronJob());
    cj.metadata!.creationTimestamp = "2026-03-01T11:00:00Z";
    expect(row(cj, now)).toEqual(["*/1 * * * *", "<none>", "False", "0", "<none>", "60m", "hello", "kubelab/shell:dev", "<none>"]);
    cj.spec!.timeZone = "Etc/UTC";
    cj.status = create(CronJobSchema, { status: { active: [{ name: "hello-1" }], lastScheduleTime: "2026-03-01T11:59:00Z" } }).status;
    expect(row(cj, now).slice(0, 5)).toEqual(["*/1 * * * *", "Etc/UTC", "False", "1", "60s"]);
  });
});
