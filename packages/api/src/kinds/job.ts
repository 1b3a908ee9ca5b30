import { create } from "@bufbuild/protobuf";
import { LabelSelectorSchema, ObjectMetaSchema } from "../gen/kubelab/meta/v1/meta_pb.js";
import { JobSchema, type Job, type JobSpec } from "../gen/kubelab/batch/v1/job_pb.js";
import { registerKind } from "../registry.js";
import { type FieldError, invalid, notSupported } from "../validation/fieldErrors.js";
import { age, humanDuration } from "./print.js";
import {
  defaultTemplate,
  nonNegative,
  selectorString,
  templateContainers,
  validateSelectorImmutable,
  validateTemplate,
} from "./workloadTemplate.js";

export const JOB_CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";

export const JOB_RESTART_POLICIES = ["OnFailure", "Never"] as const;

/** A Job spec's own fields (not its selector and template), at `path`: a Job's spec or a CronJob's jobTemplate.spec. */
export function validateJobSpecFields(path: string, s: JobSpec | undefined): FieldError[] {
  const errs: FieldError[] = [
    ...nonNegative(`${path}.parallelism`, s?.parallelism),
    ...nonNegative(`${path}.completions`, s?.completions),
    ...nonNegative(`${path}.backoffLimit`, s?.backoffLimit),
    ...nonNegative(`${path}.ttlSecondsAfterFinished`, s?.ttlSecondsAfterFinished),
  ];
  if (s?.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds <= 0) {
    errs.push(invalid(`${path}.activeDeadlineSeconds`, s.activeDeadlineSeconds, "must be greater than 0"));
  }
  if (s?.completionMode && s.completionMode !== "NonIndexed")
    errs.push(notSupported(`${path}.completionMode`, s.completionMode, ["NonIndexed"]));
  return errs;
}

/** Whether a Job has finished: its Complete or Failed condition is True (Kubernetes' IsJobFinished). */
export function jobFinishedCondition(j: Job): "Complete" | "Failed" | undefined {
  const c = (j.status?.conditions ?? []).find((x) => (x.type === "Complete" || x.type === "Failed") && x.status === "True");
  return c?.type as "Complete" | "Failed" | undefined;
}

function jobStatus(j: Job): string {
  const c = j.status?.conditions ?? [];
  const isTrue = (t: string) => c.some((x) => x.type === t && x.status === "True");
  if (isTrue("Complete")) return "Complete";
  if (isTrue("Failed")) return "Failed";
  if (j.metadata?.deletionTimestamp) return "Terminating";
  if (j.spec?.suspend) return "Suspended";
  return "Running";
}

registerKind<Job>({
  kind: "Job",
  apiVersion: "batch/v1",
  resource: "jobs",
  categories: ["all"],
  singular: "job",
  shortNames: [],
  namespaced: true,
  schema: JobSchema,
  nameRule: "subdomain",
  hasStatus: true,
  // Kubernetes generates the selector from the Job's uid unless manualSelector is set.
  prepareForCreate: (j) => {
    j.status = undefined;
    if (!j.spec || j.spec.manualSelector) return;
    const uid = j.metadata!.uid;
    j.spec.selector = create(LabelSelectorSchema, { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } });
    const t = j.spec.template;
    if (t) {
      t.metadata ??= create(ObjectMetaSchema);
      t.metadata!.labels = {
        ...t.metadata!.labels,
        [JOB_CONTROLLER_UID_LABEL]: uid,
        [JOB_NAME_LABEL]: j.metadata!.name,
        "controller-uid": uid,
        "job-name": j.metadata!.name,
      };
    }
  },
  defaults: (j) => {
    const s = j.spec;
    if (!s) return;
    if (s.completions === undefined && s.parallelism === undefined) {
      s.completions = 1;
      s.parallelism = 1;
    }
    if (s.parallelism === undefined) s.parallelism = 1;
    if (s.backoffLimit === undefined) s.backoffLimit = 6;
    if (!s.completionMode) s.completionMode = "NonIndexed";
    if (s.suspend === undefined) s.suspend = false;
    if (s.manualSelector === undefined) s.manualSelector = false;
    defaultTemplate(s.template);
  },
  validate: (j) => [
    ...validateJobSpecFields("spec", j.spec),
    ...validateTemplate(j.spec?.template, j.spec?.selector, "Job", JOB_RESTART_POLICIES),
  ],
  validateUpdate: (j, old) => validateSelectorImmutable(j.spec?.selector, old.spec?.selector),
  columns: [
    { name: "STATUS", value: jobStatus },
    { name: "COMPLETIONS", value: (j) => `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}` },
    {
      name: "DURATION",
      value: (j, now) => {
        const start = j.status?.startTime;
        if (!start) return "";
        const end = j.status?.completionTime ? Date.parse(j.status.completionTime) : now.getTime();
        return humanDuration(end - Date.parse(start));
      },
    },
    { name: "AGE", value: (j, now) => age(j.metadata?.creationTimestamp, now) },
    { name: "CONTAINERS", value: (j) => templateContainers(j.spec?.template).names, wide: true },
    { name: "IMAGES", value: (j) => templateContainers(j.spec?.template).images, wide: true },
    { name: "SELECTOR", value: (j) => selectorString(j.spec?.selector), wide: true },
  ],
});
