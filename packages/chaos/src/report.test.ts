import { describe, expect, it } from "vitest";
import type { FlowStats } from "./analysis.js";
import type { HttpRecord, WriteRecord } from "./probe.js";
import { BUCKET_MS, type ChaosReport, httpBuckets, reportHtml, summaryText, timelineSvg, writeBuckets } from "./report.js";

const write = (startMs: number, endMs: number, ok = true): WriteRecord => ({ name: `w-${startMs}`, startMs, endMs, ok });

describe("buckets", () => {
  it("puts each request in the 250 ms slice it ended in, counting successes and failures", () => {
    const writes = [write(0, 100), write(50, 249), write(100, 250, false), write(0, 600), write(300, 999)];
    expect(writeBuckets(writes, 0, 1000)).toEqual([
      { atMs: 0, ok: 2, failed: 0 },
      { atMs: 250, ok: 0, failed: 1 },
      { atMs: 500, ok: 1, failed: 0 },
      { atMs: 750, ok: 1, failed: 0 },
    ]);
  });

  it("files a request by its end, not its start: a stall leaves slices where nothing ended", () => {
    // Started in the first slice, answered three slices later.
    expect(writeBuckets([write(10, 800)], 0, 1000).map((b) => b.ok)).toEqual([0, 0, 0, 1]);
  });

  it("takes an HTTP request's end as its start plus its latency", () => {
    const calls: HttpRecord[] = [{ from: "host", startMs: 200, latencyMs: 100, ok: true, detail: "200" }];
    expect(httpBuckets(calls, 0, 500).map((b) => b.ok)).toEqual([0, 1]);
  });

  it("counts slices from t0, and leaves out what ended before t0 or at or after the end", () => {
    const writes = [write(0, 900), write(0, 1000), write(0, 1249), write(0, 2000), write(0, 2100)];
    expect(writeBuckets(writes, 1000, 2000)).toEqual([
      { atMs: 0, ok: 2, failed: 0 },
      { atMs: 250, ok: 0, failed: 0 },
      { atMs: 500, ok: 0, failed: 0 },
      { atMs: 750, ok: 0, failed: 0 },
    ]);
  });

  it("covers a last partial slice, and nothing for an empty span", () => {
    expect(writeBuckets([], 0, 1001)).toHaveLength(5);
    expect(writeBuckets([], 0, 0)).toEqual([]);
    expect(writeBuckets([], 10, 0)).toEqual([]);
  });
});

const flow = (over: Partial<FlowStats> = {}): FlowStats => ({ attempts: 10, succeeded: 9, ratio: 0.9, longestGapMs: 1200, ...over });

/** A small report of one run with one fault; `over` replaces top-level fields. */
function report(over: Partial<ChaosReport> = {}): ChaosReport {
  return {
    kubelab: "chaos-report/v1",
    scenario: { name: "etcd-leader-kill", description: "the etcd leader killed" },
    seed: 42,
    project: "kubelab",
    startedAt: "2025-01-01T00:00:00.000Z",
    t0Ms: 1_735_689_600_000,
    durationMs: 30_000,
    outcome: "failed",
    settings: { writesPerSecond: 50, http: true, recoverWithinMs: 120_000 },
    totals: {
      writes: { ...flow(), failedByError: { "14 UNAVAILABLE": 1 } },
      httpHost: flow(),
      httpPod: flow(),
      watchEvents: 9,
      watchResumes: 1,
      watchRelists: 0,
    },
    faults: [
      {
        fault: {
          step: "kill-leader",
          action: "kill",
          targetText: "leader:etcd",
          component: "etcd-1",
          kind: "etcd",
          detail: "SIGKILL",
          injectedMs: 5000,
          undoneMs: 15_000,
          wasLeader: true,
          injectedAtMs: 5000,
          undoneAtMs: 15_000,
        },
        windowMs: [5000, 30_000],
        detectMs: 1200,
        detectedBy: "etcd-2 leader",
        recoverMs: 3000,
        writes: flow(),
        httpHost: flow(),
        httpPod: flow(),
      },
    ],
    invariants: [
      { name: "every acknowledged write is still readable", pass: true, summary: "9 acknowledged writes, 9 read back", violations: [] },
      {
        name: "the watcher saw every acknowledged write exactly once, in resourceVersion order",
        pass: false,
        summary: "9 events, no relist",
        violations: ["w-3 was delivered 2 times (at 5, 7)"],
      },
    ],
    timeline: {
      bucketMs: BUCKET_MS,
      writes: [
        { atMs: 0, ok: 3, failed: 0 },
        { atMs: 250, ok: 0, failed: 2 },
      ],
      httpHost: [{ atMs: 0, ok: 1, failed: 1 }],
      httpPod: [],
      etcdLeader: [
        { fromMs: -2000, toMs: 6000, leader: "etcd-1" },
        { fromMs: 6000, toMs: 30_000, leader: "etcd-2" },
      ],
      leaseTerms: [{ lease: "kube-scheduler", holder: "abc123_1", fromMs: -5000, toMs: 30_000, released: false }],
      nodes: [{ node: "node-1", fromMs: -2000, toMs: 30_000, ready: "True" }],
      desired: [
        { atMs: -2000, ok: true, problems: [] },
        { atMs: 6000, ok: false, problems: ["node node-2: Ready=Unknown"] },
      ],
      reactions: [{ atMs: 6000, source: "etcd", subject: "etcd-2", what: "leader" }],
      droppedReactions: 0,
    },
    ...over,
  };
}

describe("summaryText", () => {
  it("gives one PASS or FAIL line per invariant, with its violations under it", () => {
    const lines = summaryText(report()).split("\n");
    expect(lines).toContain("  PASS  every acknowledged write is still readable — 9 acknowledged writes, 9 read back");
    const fail = lines.indexOf(
      "  FAIL  the watcher saw every acknowledged write exactly once, in resourceVersion order — 9 events, no relist",
    );
    expect(fail).toBeGreaterThan(0);
    expect(lines[fail + 1]).toBe("        w-3 was delivered 2 times (at 5, 7)");
  });

  it("opens with the scenario, the seed, the lab and the outcome", () => {
    expect(summaryText(report()).split("\n")[0]).toBe("scenario etcd-leader-kill (seed 42) on lab kubelab: FAILED");
    expect(summaryText(report({ outcome: "interrupted", error: "interrupted by SIGINT" })).split("\n")[0]).toBe(
      "scenario etcd-leader-kill (seed 42) on lab kubelab: INTERRUPTED — interrupted by SIGINT",
    );
  });

  it("describes each fault: when, what, what it hit, detection and recovery", () => {
    const text = summaryText(report());
    expect(text).toContain("  +5.00 s  kill-leader: SIGKILL etcd-1 (leader:etcd), undone at +15.0 s");
    expect(text).toContain("      detected in 1.20 s (etcd-2 leader); recovered in 3.00 s");
    expect(text).toContain("      API writes 90.00% ok, longest gap 1.20 s; HTTP host 90.00% (gap 1.20 s), pod 90.00% (gap 1.20 s)");
  });
});

describe("reportHtml", () => {
  const hostile = "<script>alert(1)</script>";
  const html = reportHtml(
    report({
      scenario: { name: hostile, description: `a "quoted" & ${hostile}` },
      invariants: [{ name: "x", pass: false, summary: "y", violations: [`${hostile} broke it`] }],
      error: `</script><script>alert(2)</script>`,
    }),
  );

  it("escapes a scenario's name, description and violations, so they cannot add markup", () => {
    expect(html).toContain("<title>kubelab chaos: &lt;script&gt;alert(1)&lt;/script&gt;</title>");
    expect(html).toContain("a &quot;quoted&quot; &amp; &lt;script&gt;");
    expect(html).toContain("<li>&lt;script&gt;alert(1)&lt;/script&gt; broke it</li>");
    expect(html).not.toContain("<script>alert");
  });

  it("embeds the report's JSON with no closing script tag from the data", () => {
    const open = '<script type="application/json" id="report">';
    const start = html.indexOf(open) + open.length;
    const end = html.indexOf("</script>", start);
    // The only </script> after the JSON's start is the one that closes it, at the end of the page.
    expect(html.slice(end)).toBe("</script>\n</body></html>\n");
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(JSON.parse(html.slice(start, end))).toEqual(
      JSON.parse(
        JSON.stringify(
          report({
            scenario: { name: hostile, description: `a "quoted" & ${hostile}` },
            invariants: [{ name: "x", pass: false, summary: "y", violations: [`${hostile} broke it`] }],
            error: `</script><script>alert(2)</script>`,
          }),
        ),
      ),
    );
  });

  it("shows each invariant as PASS or FAIL", () => {
    const page = reportHtml(report());
    expect(page).toContain('<tr class="pass"><td>PASS</td><td>every acknowledged write is still readable');
    expect(page).toContain('<tr class="fail"><td>FAIL</td><td>the watcher saw every acknowledged write exactly once');
  });

  it("holds the timeline", () => {
    expect(reportHtml(report())).toContain('<div class="svg"><svg');
  });
});

describe("timelineSvg", () => {
  it("is one SVG element", () => {
    const svg = timelineSvg(report());
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.endsWith("</svg>")).toBe(true);
    expect(svg).not.toContain("__H__");
  });

  it("has a lane for each fault, the etcd leader, each Lease, each node, the desired state and each probe with data", () => {
    const svg = timelineSvg(report());
    for (const label of [
      "kill-leader",
      "etcd leader",
      "kube-scheduler",
      "node-1",
      "desired state",
      "API writes",
      "HTTP from host",
      "etcd reactions",
    ])
      expect(svg).toContain(`class="l">${label}</text>`);
    expect(svg).not.toContain(">HTTP from a pod</text>");
  });

  it("names a Lease's holder by its lab component when known, by hostname otherwise", () => {
    const r = report();
    expect(timelineSvg(r)).toContain('class="w">abc123</text>');
    r.timeline.leaseTerms[0]!.component = "scheduler-2";
    const svg = timelineSvg(r);
    expect(svg).toContain('class="w">scheduler-2</text>');
    expect(svg).toContain("kube-scheduler held by scheduler-2 (abc123_1)");
  });

  it("escapes names it draws", () => {
    const r = report();
    r.faults[0]!.fault.step = "<b>step</b>";
    const svg = timelineSvg(r);
    expect(svg).toContain("&lt;b&gt;step&lt;/b&gt;");
    expect(svg).not.toContain("<b>");
  });

  it("draws a run with nothing in it", () => {
    const empty = report({ faults: [], durationMs: 0 });
    empty.timeline = {
      ...empty.timeline,
      writes: [],
      httpHost: [],
      httpPod: [],
      etcdLeader: [],
      leaseTerms: [],
      nodes: [],
      desired: [],
      reactions: [],
    };
    const svg = timelineSvg(empty);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toContain("NaN");
  });
});
