import { create } from "@bufbuild/protobuf";
import { CronJobSchema } from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { cronJobDetails } from "./describeCronJob.js";

describe("describe cronjob", () => {
  it("shows the schedule, the policies, the job template, the last schedule and the active Jobs", () => {
    const cj = create(CronJobSchema, {
      spec: {
        schedule: "*/1 * * * *",
        concurrencyPolicy: "Forbid",
        suspend: false,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 1,
        jobTemplate: {
          spec: {
            template: {
              metadata: { labels: { app: "hello" } },
              spec: { containers: [{ name: "hello", image: "kubelab/shell:dev", command: ["sh", "-c", "echo hi"] }] },
            },
          },
        },
      },
      status: { lastScheduleTime: "2026-03-01T12:00:00Z", active: [{ name: "hello-29540160" }] },
    });
    expect(cronJobDetails(cj)).toEqual([
      "Schedule:                      */1 * * * *",
      "Concurrency Policy:            Forbid",
      "Suspend:                       False",
      "Successful Job History Limit:  3",
      "Failed Job History Limit:      1",
      "Starting Deadline Seconds:     <unset>",
      "Selector:                      <unset>",
      "Parallelism:                   <unset>",
      "Completions:                   <unset>",
      "Pod Template:",
      "  Labels:  app=hello",
      "  Containers:",
      "   hello:",
      "    Image:      kubelab/shell:dev",
      "    Command:",
      "      sh",
      "      -c",
      "      echo hi",
      "Last Schedule Time:            Sun, 01 Mar 2026 12:00:00 +0000",
      "Active Jobs:                   hello-29540160",
    ]);
  });
});
