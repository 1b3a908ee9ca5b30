import type { HPAScalingRules, HorizontalPodAutoscaler } from "@kubelab/api";
import table from "text-table";

const VALUE_COLUMN = 55;
const pad = (label: string) => `${label}:`.padEnd(VALUE_COLUMN);
/** A metric's line: indented two, its value in the same column as the others'. */
const metricPad = (label: string) => `  ${`${label}:`.padEnd(VALUE_COLUMN - 2)}`;

function metricLines(hpa: HorizontalPodAutoscaler): string[] {
  const statuses = hpa.status?.currentMetrics ?? [];
  return (hpa.spec?.metrics ?? []).map((spec, i) => {
    const res = spec.resource;
    if (spec.type !== "Resource" || !res) return `${metricPad(`"${spec.type}" (unsupported here)`)}<unknown>`;
    const cur = statuses[i]?.resource?.current;
    if (res.target?.averageValue)
      return `${metricPad(`resource ${res.name} on pods`)}${cur?.averageValue || "<unknown>"} / ${res.target.averageValue}`;
    const current = cur?.averageUtilization !== undefined ? `${cur.averageUtilization}% (${cur.averageValue})` : "<unknown>";
    const target = res.target?.averageUtilization !== undefined ? `${res.target.averageUtilization}%` : "<auto>";
    return `${metricPad(`resource ${res.name} on pods  (as a percentage of request)`)}${current} / ${target}`;
  });
}

function rulesLines(title: string, r: HPAScalingRules | undefined): string[] {
  if (!r) return [];
  const out = [`  ${title}:`];
  if (r.stabilizationWindowSeconds !== undefined) out.push(`    Stabilization Window: ${r.stabilizationWindowSeconds} seconds`);
  if (r.selectPolicy) out.push(`    Select Policy: ${r.selectPolicy}`);
  out.push("    Policies:");
  for (const p of r.policies)
    out.push(`      - Type: ${p.type.padEnd(7)}  Value: ${String(p.value).padEnd(3)}  Period: ${p.periodSeconds} seconds`);
  return out;
}

/** kubectl describe hpa's body: the target, each metric as current / target, limits, behavior, the target's pods and the conditions. */
export function hpaDetails(hpa: HorizontalPodAutoscaler): string[] {
  const s = hpa.spec;
  const ref = s?.scaleTargetRef;
  const lines = [`${pad("Reference")}${ref?.kind}/${ref?.name}`, `${pad("Metrics")}( current / target )`, ...metricLines(hpa)];
  lines.push(`${pad("Min replicas")}${s?.minReplicas ?? "<unset>"}`, `${pad("Max replicas")}${s?.maxReplicas ?? 0}`);
  if (s?.behavior)
    lines.push("Behavior:", ...rulesLines("Scale Up", s.behavior.scaleUp), ...rulesLines("Scale Down", s.behavior.scaleDown));
  lines.push(`${pad(`${ref?.kind} pods`)}${hpa.status?.currentReplicas ?? 0} current / ${hpa.status?.desiredReplicas ?? 0} desired`);
  const conditions = hpa.status?.conditions ?? [];
  if (conditions.length) {
    const rows = [
      ["Type", "Status", "Reason", "Message"],
      ["----", "------", "------", "-------"],
      ...conditions.map((c) => [c.type, c.status, c.reason, c.message]),
    ];
    lines.push(
      "Conditions:",
      ...table(rows, { hsep: "  " })
        .split("\n")
        .map((l) => `  ${l}`),
    );
  }
  return lines;
}
