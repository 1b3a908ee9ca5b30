// A run's report: the JSON a program reads, the summary a terminal prints, and a self-contained
// HTML page whose SVG timeline puts the faults and the cluster's reactions on one time axis.
import type { FaultMetrics, FlowStats } from "./analysis.js";
import type { InvariantResult, LeaseTerm } from "./invariants.js";
import type { HttpRecord, WriteRecord } from "./probe.js";
import type { Reaction } from "./recorder.js";

/** What the probe's requests that ended in one slice of time came to. */
export interface Bucket {
  /** Offset of the bucket's start from t0, ms. */
  atMs: number;
  ok: number;
  failed: number;
}

export interface ChaosReport {
  kubelab: "chaos-report/v1";
  scenario: { name: string; description: string };
  seed: number;
  project: string;
  startedAt: string;
  /** Wall-clock ms of the steps' zero: every other time here is an offset from it. */
  t0Ms: number;
  durationMs: number;
  outcome: "passed" | "failed" | "interrupted";
  error?: string;
  settings: { writesPerSecond: number; http: boolean; recoverWithinMs: number };
  totals: {
    writes: FlowStats & { failedByError: Record<string, number> };
    httpHost: FlowStats;
    httpPod: FlowStats & { unreadable?: string };
    watchEvents: number;
    /** Times the watch broke and resumed from its last resourceVersion, and relisted after OUT_OF_RANGE. */
    watchResumes: number;
    watchRelists: number;
  };
  faults: Array<
    Omit<FaultMetrics, "windowMs" | "fault"> & {
      fault: FaultMetrics["fault"] & { injectedAtMs: number; undoneAtMs?: number };
      windowMs: [number, number];
    }
  >;
  invariants: InvariantResult[];
  timeline: {
    bucketMs: number;
    writes: Bucket[];
    httpHost: Bucket[];
    httpPod: Bucket[];
    etcdLeader: Array<{ fromMs: number; toMs: number; leader?: string }>;
    /** Each term with the lab component whose hostname its holder names, when known. */
    leaseTerms: Array<LeaseTerm & { fromMs: number; toMs: number; component?: string }>;
    nodes: Array<{ node: string; fromMs: number; toMs: number; ready: string }>;
    desired: Array<{ atMs: number; ok: boolean; problems: string[] }>;
    reactions: Reaction[];
    droppedReactions: number;
  };
}

export const BUCKET_MS = 250;

/** Requests by the slice they ended in (so a stall shows as slices where nothing ended). */
export function buckets<T>(records: T[], endOf: (r: T) => number, ok: (r: T) => boolean, t0Ms: number, endMs: number): Bucket[] {
  const n = Math.max(0, Math.ceil((endMs - t0Ms) / BUCKET_MS));
  const out: Bucket[] = Array.from({ length: n }, (_, i) => ({ atMs: i * BUCKET_MS, ok: 0, failed: 0 }));
  for (const r of records) {
    const i = Math.floor((endOf(r) - t0Ms) / BUCKET_MS);
    if (i < 0 || i >= n) continue;
    if (ok(r)) out[i]!.ok++;
    else out[i]!.failed++;
  }
  return out;
}

export const writeBuckets = (w: WriteRecord[], t0: number, end: number) =>
  buckets(
    w,
    (r) => r.endMs,
    (r) => r.ok,
    t0,
    end,
  );
export const httpBuckets = (h: HttpRecord[], t0: number, end: number) =>
  buckets(
    h,
    (r) => r.startMs + r.latencyMs,
    (r) => r.ok,
    t0,
    end,
  );

const pct = (r: number | undefined) => (r === undefined ? "—" : `${(r * 100).toFixed(r === 1 ? 0 : 2)}%`);
const secs = (ms: number | undefined) => (ms === undefined ? "—" : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);

/** Recovery in words: healed around the fault, or only after it was undone. */
function recovery(f: ChaosReport["faults"][number]): string {
  if (f.healedMs !== undefined) return `healed around it in ${secs(f.healedMs)}`;
  if (f.afterUndoMs !== undefined) return `recovered ${secs(f.afterUndoMs)} after it was undone`;
  return f.recoverMs === undefined ? "not recovered by the end" : `recovered in ${secs(f.recoverMs)}`;
}

/** What a terminal shows at the end of a run. */
export function summaryText(r: ChaosReport): string {
  const lines: string[] = [];
  lines.push(
    `scenario ${r.scenario.name} (seed ${r.seed}) on lab ${r.project}: ${r.outcome.toUpperCase()}${r.error ? ` — ${r.error}` : ""}`,
  );
  lines.push("");
  lines.push("faults (times from the fault's injection):");
  for (const f of r.faults) {
    const fx = f.fault;
    lines.push(
      `  +${secs(fx.injectedAtMs)}  ${fx.step}: ${fx.detail || fx.action} ${fx.component}${fx.targetText !== fx.component ? ` (${fx.targetText})` : ""}${fx.undoneAtMs !== undefined ? `, undone at +${secs(fx.undoneAtMs)}` : ""}${fx.error ? ` FAILED: ${fx.error}` : ""}`,
    );
    lines.push(`      detected ${f.detectMs === undefined ? "—" : `in ${secs(f.detectMs)} (${f.detectedBy})`}; ${recovery(f)}`);
    lines.push(
      `      API writes ${pct(f.writes.ratio)} ok, longest gap ${secs(f.writes.longestGapMs)}; HTTP host ${pct(f.httpHost.ratio)} (gap ${secs(f.httpHost.longestGapMs)}), pod ${pct(f.httpPod.ratio)} (gap ${secs(f.httpPod.longestGapMs)})`,
    );
  }
  const t = r.totals;
  lines.push("");
  lines.push(
    `probe: ${t.writes.succeeded}/${t.writes.attempts} writes acknowledged (longest gap ${secs(t.writes.longestGapMs)}), ${t.watchEvents} watch events (the watch resumed ${t.watchResumes} times, relisted ${t.watchRelists}); HTTP host ${t.httpHost.succeeded}/${t.httpHost.attempts}, pod ${t.httpPod.succeeded}/${t.httpPod.attempts}${t.httpPod.unreadable ? ` (caller's log unreadable: ${t.httpPod.unreadable})` : ""}`,
  );
  lines.push("");
  lines.push("invariants:");
  for (const inv of r.invariants) {
    lines.push(`  ${inv.pass ? "PASS" : "FAIL"}  ${inv.name} — ${inv.summary}`);
    for (const v of inv.violations) lines.push(`        ${v}`);
  }
  return lines.join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"];

/** The timeline as one SVG: lanes of faults, etcd, leases, nodes, desired state, probes, then the reactions. */
export function timelineSvg(r: ChaosReport): string {
  const left = 170;
  const width = 1200;
  const plot = width - left - 20;
  const endMs = r.durationMs;
  const tl = r.timeline;
  const startMs = Math.min(
    -1000,
    ...tl.reactions.slice(0, 1).map((e) => e.atMs),
    ...tl.etcdLeader.slice(0, 1).map((e) => e.fromMs),
    ...tl.nodes.slice(0, 1).map((e) => e.fromMs),
    ...tl.desired.slice(0, 1).map((e) => e.atMs),
  );
  const x = (ms: number) => left + ((ms - startMs) / (endMs - startMs)) * plot;
  const parts: string[] = [];
  let y = 30;
  const laneH = 18;
  const lane = (label: string) => {
    parts.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end" class="l">${esc(label)}</text>`);
    const top = y;
    y += laneH + 6;
    return top;
  };
  const rect = (fromMs: number, to: number, top: number, color: string, title: string, h = laneH) => {
    const from = Math.max(fromMs, startMs);
    if (to <= from) return;
    parts.push(
      `<rect x="${x(from).toFixed(1)}" y="${top}" width="${Math.max(1, x(to) - x(from)).toFixed(1)}" height="${h}" fill="${color}"><title>${esc(title)}</title></rect>`,
    );
  };
  // Axis.
  for (let s = Math.ceil(startMs / 10_000) * 10; s * 1000 <= endMs; s += 10) {
    parts.push(
      `<line x1="${x(s * 1000)}" y1="20" x2="${x(s * 1000)}" y2="__H__" class="g"/><text x="${x(s * 1000)}" y="14" text-anchor="middle" class="t">${s}s</text>`,
    );
  }
  // Faults.
  for (const f of r.faults) {
    const top = lane(`${f.fault.step}`);
    rect(f.fault.injectedAtMs, f.fault.undoneAtMs ?? endMs, top, "#e15759", `${f.fault.action} ${f.fault.component} ${f.fault.detail}`);
    parts.push(
      `<text x="${x(f.fault.injectedAtMs) + 4}" y="${top + 13}" class="w">${esc(`${f.fault.action} ${f.fault.component}`)}</text>`,
    );
  }
  // etcd leader.
  {
    const top = lane("etcd leader");
    const colors = new Map<string, string>();
    for (const s of r.timeline.etcdLeader) {
      const name = s.leader ?? "none";
      if (!colors.has(name)) colors.set(name, name === "none" ? "#bbb" : PALETTE[colors.size % PALETTE.length]!);
      rect(s.fromMs, s.toMs, top, colors.get(name)!, `etcd leader: ${name}`);
      if (x(s.toMs) - x(s.fromMs) > 40) parts.push(`<text x="${x(s.fromMs) + 3}" y="${top + 13}" class="w">${esc(name)}</text>`);
    }
  }
  // Lease holders.
  for (const lease of [...new Set(r.timeline.leaseTerms.map((t) => t.lease))]) {
    const top = lane(lease);
    const holders = [...new Set(r.timeline.leaseTerms.filter((t) => t.lease === lease).map((t) => t.holder))];
    for (const t of r.timeline.leaseTerms.filter((t) => t.lease === lease)) {
      const c = PALETTE[holders.indexOf(t.holder) % PALETTE.length]!;
      const by = t.component ? `${t.component} (${t.holder})` : t.holder;
      rect(Math.max(startMs, t.fromMs), Math.min(endMs, t.toMs), top, c, `${lease} held by ${by}${t.released ? " (released)" : ""}`);
      if (x(Math.min(endMs, t.toMs)) - x(Math.max(startMs, t.fromMs)) > 60)
        parts.push(
          `<text x="${x(Math.max(startMs, t.fromMs)) + 3}" y="${top + 13}" class="w">${esc(t.component ?? t.holder.split("_")[0]!)}</text>`,
        );
    }
  }
  // Nodes.
  for (const node of [...new Set(r.timeline.nodes.map((n) => n.node))].sort()) {
    const top = lane(node);
    for (const s of r.timeline.nodes.filter((n) => n.node === node))
      rect(
        s.fromMs,
        s.toMs,
        top,
        s.ready === "True" ? "#59a14f" : s.ready === "Unknown" ? "#edc948" : "#e15759",
        `${node} Ready=${s.ready}`,
      );
  }
  // Desired state.
  {
    const top = lane("desired state");
    const d = r.timeline.desired;
    for (const [i, s] of d.entries()) {
      const to = d[i + 1]?.atMs ?? endMs;
      rect(Math.max(startMs, s.atMs), to, top, s.ok ? "#59a14f" : "#e15759", s.ok ? "holds" : s.problems.join("\n"));
    }
  }
  // Probes: a bar per slice of time; orange where some failed, red where nothing succeeded.
  const probeLane = (label: string, bs: Bucket[]) => {
    if (bs.every((b) => b.ok + b.failed === 0)) return;
    const top = lane(label);
    for (const b of bs) {
      const color = b.failed === 0 && b.ok > 0 ? "#59a14f" : b.ok > 0 ? "#f28e2b" : "#e15759";
      rect(
        b.atMs,
        b.atMs + BUCKET_MS,
        top,
        color,
        `+${(b.atMs / 1000).toFixed(2)} s: ${b.ok} ok, ${b.failed} failed${b.ok + b.failed === 0 ? " (nothing answered)" : ""}`,
      );
    }
  };
  probeLane("API writes", r.timeline.writes);
  probeLane("HTTP from host", r.timeline.httpHost);
  probeLane("HTTP from a pod", r.timeline.httpPod);
  // Reactions: one tick per reaction, in lanes by source.
  const sources = ["container", "etcd", "lease", "node", "pod", "endpoints", "event"] as const;
  for (const src of sources) {
    const list = r.timeline.reactions.filter((e) => e.source === src);
    if (!list.length) continue;
    const top = lane(`${src} reactions`);
    for (const e of list) {
      const at = e.atMs;
      parts.push(
        `<line x1="${x(at).toFixed(1)}" y1="${top}" x2="${x(at).toFixed(1)}" y2="${top + laneH}" class="m"><title>${esc(`+${(at / 1000).toFixed(3)} s ${e.subject}: ${e.what}${e.detail ? ` (${e.detail})` : ""}`)}</title></line>`,
      );
    }
  }
  const height = y + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<style>.l{font-size:12px;fill:#333}.t{font-size:11px;fill:#666}.w{font-size:11px;fill:#fff;pointer-events:none}.g{stroke:#ddd}.m{stroke:#333;stroke-width:1.5}</style>
<rect width="100%" height="100%" fill="#fff"/>
${parts.join("\n").replaceAll("__H__", String(height - 10))}
</svg>`;
}

/** A self-contained page: summary, faults, invariants, the timeline, and the reactions in order. */
export function reportHtml(r: ChaosReport): string {
  const rows = r.faults
    .map(
      (f) =>
        `<tr><td>+${secs(f.fault.injectedAtMs)}</td><td>${esc(f.fault.step)}</td><td>${esc(`${f.fault.action} ${f.fault.component}`)}<br><small>${esc(f.fault.detail)}</small></td><td>${f.detectMs === undefined ? "—" : `${secs(f.detectMs)}<br><small>${esc(f.detectedBy ?? "")}</small>`}</td><td>${esc(recovery(f))}</td><td>${pct(f.writes.ratio)}<br><small>gap ${secs(f.writes.longestGapMs)}</small></td><td>${pct(f.httpHost.ratio)}<br><small>gap ${secs(f.httpHost.longestGapMs)}</small></td><td>${pct(f.httpPod.ratio)}<br><small>gap ${secs(f.httpPod.longestGapMs)}</small></td></tr>`,
    )
    .join("\n");
  const invariants = r.invariants
    .map(
      (i) =>
        `<tr class="${i.pass ? "pass" : "fail"}"><td>${i.pass ? "PASS" : "FAIL"}</td><td>${esc(i.name)}<br><small>${esc(i.summary)}</small>${i.violations.length ? `<ul>${i.violations.map((v) => `<li>${esc(v)}</li>`).join("")}</ul>` : ""}</td></tr>`,
    )
    .join("\n");
  const reactions = r.timeline.reactions
    .slice(0, 5000)
    .map(
      (e) =>
        `<tr><td>${(e.atMs / 1000).toFixed(3)} s</td><td>${e.source}</td><td>${esc(e.subject)}</td><td>${esc(e.what)}</td><td>${esc(e.detail ?? "")}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kubelab chaos: ${esc(r.scenario.name)}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;font-size:13px}
th{background:#f4f4f4}.pass td:first-child{color:#2a7d2a;font-weight:bold}.fail td:first-child{color:#c22;font-weight:bold}small{color:#666}
.outcome-passed{color:#2a7d2a}.outcome-failed,.outcome-interrupted{color:#c22}.svg{overflow-x:auto}
</style></head><body>
<h1>${esc(r.scenario.name)} <span class="outcome-${r.outcome}">${r.outcome}</span></h1>
<p>${esc(r.scenario.description)}</p>
<p>Lab <b>${esc(r.project)}</b>, seed <b>${r.seed}</b>, started ${esc(r.startedAt)}, ${(r.durationMs / 1000).toFixed(1)} s. Probe: ${r.settings.writesPerSecond} API writes/s${r.settings.http ? ", HTTP through the Service from the host (NodePort) and from a pod" : ""}.${r.error ? ` <b>Error:</b> ${esc(r.error)}` : ""}</p>
<h2>Invariants</h2><table>${invariants}</table>
<h2>Timeline</h2><p><small>Times from the first step's zero. Hover for details. Red: a fault in place, a failure, or the desired state not holding; yellow: a node Unknown.</small></p>
<div class="svg">${timelineSvg(r)}</div>
<h2>Faults</h2>
<table><tr><th>at</th><th>step</th><th>fault</th><th>detected</th><th>recovered</th><th>API writes</th><th>HTTP host</th><th>HTTP pod</th></tr>${rows}</table>
<h2>Reactions</h2><table><tr><th>at</th><th>source</th><th>subject</th><th>what</th><th>detail</th></tr>${reactions}</table>
<script type="application/json" id="report">${JSON.stringify(r).replace(/</g, "\\u003c")}</script>
</body></html>
`;
}
