import { CRONJOB_INSTANTIATE_ANNOTATION, jobFromCronJobTemplate, type CronJob, type Job } from "@kubelab/api";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";
import { resolveKinds } from "./resolve.js";

export interface CreateJobOptions extends GlobalOptions {
  from?: string;
}

/**
 * kubectl create job --from=cronjob/NAME's Job: the CronJob's job template, marked as started by
 * hand, and owned by the CronJob (so deleting the CronJob deletes it) but not controlled: the
 * CronJob controller neither counts it as active nor cleans it up with its history.
 */
export function jobFromCronJob(cj: CronJob, name: string): Job {
  const owner = { apiVersion: "batch/v1", kind: "CronJob", name: cj.metadata!.name, uid: cj.metadata!.uid };
  return jobFromCronJobTemplate(cj, name, owner, { defaults: { [CRONJOB_INSTANTIATE_ANNOTATION]: "manual" } });
}

/** kubectl create job NAME --from=cronjob/CRONJOB. */
export async function createJob(name: string, opts: CreateJobOptions): Promise<void> {
  if (!opts.from) throw new UsageError("from must be specified: kubelab create job NAME --from=cronjob/CRONJOB");
  const [kindArg, source] = opts.from.split("/", 2);
  if (!kindArg || !source) throw new UsageError(`--from must be of the form cronjob/NAME, was ${JSON.stringify(opts.from)}`);
  const def = resolveKinds(kindArg)[0]!;
  if (def.resource !== "cronjobs") throw new UsageError(`unknown object type ${def.kind}`);
  const namespace = namespaceOf(opts);
  const client = connect(opts);
  try {
    const cj = await client.get<CronJob>("cronjobs", namespace, source);
    const job = await client.create(jobFromCronJob(cj, name));
    process.stdout.write(`job.batch/${job.metadata!.name} created\n`);
  } finally {
    client.close();
  }
}
