import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { CronJobSchema, type CronJob, type CronJobSpec, type JobTemplateSpec } from "../gen/kubelab/batch/v1/cronjob_pb.js";
import { JobSchema, type Job } from "../gen/kubelab/batch/v1/job_pb.js";
import type { OwnerReferenceSchema } from "../gen/kubelab/meta/v1/meta_pb.js";
import { isKnownTimeZone, scheduleError } from "../cron/schedule.js";
import { registerKind } from "../registry.js";
import { type FieldError, invalid, notSupported, required } from "../validation/fieldErrors.js";
import { validateLabels } from "../validation/labels.js";
import { JOB_RESTART_POLICIES, validateJobSpecFields } from "./job.js";
import { age } from "./print.js";
import { defaultTemplate, nonNegative, selectorString, templateContainers, validatePodTemplate } from "./workloadTemplate.js";

/** The annotation on a CronJob's Job: the time it was scheduled for, RFC 3339 in the CronJob's time zone. */
export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/** The annotation kubectl create job --from=cronjob/NAME puts on the Job it makes. */
export const CRONJOB_INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate";

export const CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"] as const;

/**
 * The controller appends "-" and the scheduled time in minutes (up to 11 characters) to a
 * CronJob's name, and a Job's name must stay within 63 (its pods' job-name label value).
 */
export const CRONJOB_NAME_MAX_LENGTH = 52;

/**
 * A Job of a CronJob's job template: its labels, annotations and spec, in the CronJob's namespace,
 * with the name and owner reference given; `annotations.defaults` yield to the template's,
 * `annotations.overrides` win over them.
 */
export function jobFromCronJobTemplate(
  cj: CronJob,
  name: string,
  ownerReference: MessageInitShape<typeof OwnerReferenceSchema>,
  annotations: { defaults?: Record<string, string>; overrides?: Record<string, string> },
): Job {
  const t = cj.spec?.jobTemplate;
  return create(JobSchema, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: cj.metadata!.namespace,
      labels: { ...t?.metadata?.labels },
      annotations: { ...annotations.defaults, ...t?.metadata?.annotations, ...annotations.overrides },
      ownerReferences: [ownerReference],
    },
    spec: t?.spec,
  });
}

// Kubernetes' validTimeZoneCharacters: a part of an IANA name, legacy names' digits and + tolerated.
const TIME_ZONE_PART = /^[A-Za-z.\-_0-9+]{1,14}$/;

/** Kubernetes' validateTimeZone: an IANA name the zone database knows, never "Local". */
export function validateTimeZone(path: string, zone: string | undefined): FieldError[] {
  if (zone === undefined) return [];
  if (zone === "") return [invalid(path, zone, "timeZone must be nil or non-empty string")];
  for (const part of zone.split("/")) {
    if (part === "." || part === ".." || part.startsWith("-") || !TIME_ZONE_PART.test(part)) {
      return [invalid(path, zone, `unknown time zone ${zone}`)];
    }
  }
  if (zone.toLowerCase() === "local") {
    return [invalid(path, zone, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")];
  }
  return isKnownTimeZone(zone) ? [] : [invalid(path, zone, `unknown time zone ${zone}`)];
}

/**
 * Kubernetes' validateScheduleFormat: robfig/cron must parse it, and a time zone goes in
 * spec.timeZone, never as TZ= or CRON_TZ= in the schedule.
 */
function validateSchedule(path: string, schedule: string): FieldError[] {
  if (!schedule) return [required(path)];
  const errs: FieldError[] = [];
  const parseError = scheduleError(schedule);
  if (parseError) errs.push(invalid(path, schedule, parseError));
  if (schedule.includes("TZ")) errs.push(invalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
  return errs;
}

/** Kubernetes' ValidateJobTemplateSpec: a Job's spec whose selector the Job will generate. */
function validateJobTemplate(path: string, t: JobTemplateSpec | undefined): FieldError[] {
  const s = t?.spec;
  const errs = [...validateLabels(`${path}.metadata.labels`, t?.metadata?.labels ?? {}), ...validateJobSpecFields(`${path}.spec`, s)];
  if (!s?.template) errs.push(required(`${path}.spec.template`));
  else errs.push(...validatePodTemplate(`${path}.spec.template`, s.template, JOB_RESTART_POLICIES));
  if (s?.selector) errs.push(invalid(`${path}.spec.selector`, selectorString(s.selector), "`selector` will be auto-generated"));
  if (s?.manualSelector) errs.push(notSupported(`${path}.spec.manualSelector`, true, ["nil", "false"]));
  return errs;
}

function validateSpec(s: CronJobSpec | undefined): FieldError[] {
  const errs = [
    ...validateSchedule("spec.schedule", s?.schedule ?? ""),
    ...nonNegative("spec.startingDeadlineSeconds", s?.startingDeadlineSeconds),
    ...validateTimeZone("spec.timeZone", s?.timeZone),
  ];
  const policy = s?.concurrencyPolicy ?? "";
  if (!policy) errs.push(required("spec.concurrencyPolicy"));
  else if (!(CONCURRENCY_POLICIES as readonly string[]).includes(policy)) {
    errs.push(notSupported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES));
  }
  errs.push(
    ...validateJobTemplate("spec.jobTemplate", s?.jobTemplate),
    ...nonNegative("spec.successfulJobsHistoryLimit", s?.successfulJobsHistoryLimit),
    ...nonNegative("spec.failedJobsHistoryLimit", s?.failedJobsHistoryLimit),
  );
  return errs;
}

registerKind<CronJob>({
  kind: "CronJob",
  apiVersion: "batch/v1",
  resource: "cronjobs",
  categories: ["all"],
  singular: "cronjob",
  shortNames: ["cj"],
  namespaced: true,
  schema: CronJobSchema,
  nameRule: "subdomain",
  hasStatus: true,
  prepareForCreate: (cj) => {
    cj.status = undefined;
  },
  // Kubernetes' SetDefaults_CronJob; the template's pod gets a Pod's defaults (its Job's own
  // fields are defaulted when the controller creates the Job).
  defaults: (cj) => {
    const s = cj.spec;
    if (!s) return;
    if (!s.concurrencyPolicy) s.concurrencyPolicy = "Allow";
    if (s.suspend === undefined) s.suspend = false;
    if (s.successfulJobsHistoryLimit === undefined) s.successfulJobsHistoryLimit = 3;
    if (s.failedJobsHistoryLimit === undefined) s.failedJobsHistoryLimit = 1;
    defaultTemplate(s.jobTemplate?.spec?.template);
  },
  // Run on create and on every update: no CronJob here was made before TZ= was refused, so an
  // update has no old schedule with one to keep, and Kubernetes' update-only leniencies never apply.
  validate: (cj) => {
    const errs = validateSpec(cj.spec);
    const name = cj.metadata?.name ?? "";
    if (name.length > CRONJOB_NAME_MAX_LENGTH) {
      errs.unshift(invalid("metadata.name", name, `must be no more than ${CRONJOB_NAME_MAX_LENGTH} characters`));
    }
    return errs;
  },
  columns: [
    { name: "SCHEDULE", value: (cj) => cj.spec?.schedule ?? "" },
    { name: "TIMEZONE", value: (cj) => cj.spec?.timeZone ?? "<none>" },
    { name: "SUSPEND", value: (cj) => (cj.spec?.suspend === undefined ? "<unset>" : cj.spec.suspend ? "True" : "False") },
    { name: "ACTIVE", value: (cj) => String(cj.status?.active.length ?? 0) },
    {
      name: "LAST SCHEDULE",
      value: (cj, now) => (cj.status?.lastScheduleTime ? age(cj.status.lastScheduleTime, now) : "<none>"),
    },
    { name: "AGE", value: (cj, now) => age(cj.metadata?.creationTimestamp, now) },
    { name: "CONTAINERS", value: (cj) => templateContainers(cj.spec?.jobTemplate?.spec?.template).names, wide: true },
    { name: "IMAGES", value: (cj) => templateContainers(cj.spec?.jobTemplate?.spec?.template).images, wide: true },
    { name: "SELECTOR", value: (cj) => selectorString(cj.spec?.jobTemplate?.spec?.selector), wide: true },
  ],
});
