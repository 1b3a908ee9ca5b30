import { create } from "@bufbuild/protobuf";
import { CRONJOB_INSTANTIATE_ANNOTATION, CronJobSchema } from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { jobFromCronJob } from "./createJob.js";

describe("create job --from=cronjob/NAME", () => {
  it("makes a Job of the template, marked manual, owned (not controlled) by the CronJob", () => {
    const cj = create(CronJobSchema, {
      metadata: { name: "hello", namespace: "team", uid: "uid-hello" },
      spec: {
        schedule: "* * * * *",
        jobTemplate: {
          metadata: { labels: { app: "hello" }, annotations: { note: "kept" } },
          spec: {
            backoffLimit: 2,
            template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "kubelab/shell:dev" }] } },
          },
        },
      },
    });
    const job = jobFromCronJob(cj, "hello-now");
    expect(job.metadata!.name).toBe("hello-now");
    expect(job.metadata!.namespace).toBe("team");
    expect(job.metadata!.annotations).toEqual({ [CRONJOB_INSTANTIATE_ANNOTATION]: "manual", note: "kept" });
    expect(job.metadata!.labels).toEqual({ app: "hello" });
    expect(job.metadata!.ownerReferences.map((r) => [r.apiVersion, r.kind, r.name, r.uid, r.controller])).toEqual([
      ["batch/v1", "CronJob", "hello", "uid-hello", undefined],
    ]);
    expect(job.spec!.backoffLimit).toBe(2);
  });
});
