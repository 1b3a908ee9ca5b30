import { formatRfc1123z, type CronJob } from "@kubelab/api";

const VALUE_COLUMN = 31;
const pad = (label: string) => `${label}:`.padEnd(VALUE_COLUMN);
const orUnset = (v: number | boolean | undefined) => (v === undefined ? "<unset>" : String(v));
const boolText = (v: boolean | undefined) => (v === undefined ? "<unset>" : v ? "True" : "False");
const labelsText = (m: Record<string, string> | undefined) =>
  Object.entries(m ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "<none>";

/** kubectl describe cronjob's body: the schedule and policies, the job template, the last schedule and the active Jobs. */
export function cronJobDetails(cj: CronJob): string[] {
  const s = cj.spec;
  const job = s?.jobTemplate?.spec;
  const pod = job?.template;
  const lines = [`${pad("Schedule")}${s?.schedule ?? ""}`];
  if (s?.timeZone !== undefined) lines.push(`${pad("Time Zone")}${s.timeZone}`);
  lines.push(
    `${pad("Concurrency Policy")}${s?.concurrencyPolicy ?? ""}`,
    `${pad("Suspend")}${boolText(s?.suspend)}`,
    `${pad("Successful Job History Limit")}${orUnset(s?.successfulJobsHistoryLimit)}`,
    `${pad("Failed Job History Limit")}${orUnset(s?.failedJobsHistoryLimit)}`,
    `${pad("Starting Deadline Seconds")}${s?.startingDeadlineSeconds === undefined ? "<unset>" : `${s.startingDeadlineSeconds}s`}`,
    `${pad("Selector")}${job?.selector ? "<set>" : "<unset>"}`,
    `${pad("Parallelism")}${orUnset(job?.parallelism)}`,
    `${pad("Completions")}${orUnset(job?.completions)}`,
    "Pod Template:",
    `  Labels:  ${labelsText(pod?.metadata?.labels)}`,
    "  Containers:",
  );
  for (const c of pod?.spec?.containers ?? []) {
    lines.push(`   ${c.name}:`, `    Image:      ${c.image}`);
    if (c.command.length) lines.push("    Command:", ...c.command.map((a) => `      ${a}`));
    if (c.args.length) lines.push("    Args:", ...c.args.map((a) => `      ${a}`));
  }
  const last = cj.status?.lastScheduleTime;
  const active = (cj.status?.active ?? []).map((a) => a.name).join(", ");
  lines.push(`${pad("Last Schedule Time")}${last ? formatRfc1123z(last) : "<unset>"}`, `${pad("Active Jobs")}${active || "<none>"}`);
  return lines;
}
