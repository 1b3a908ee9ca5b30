import { decodeObject, parseQuantity, type Deployment, type KubeObject, type Pod, type PodMetrics } from "@kubelab/api";
import { CgroupReader } from "@kubelab/kubelet";
import { BenchLab, exec } from "./benchLab.js";
import { deploymentOf } from "./manifests.js";
import { record, type Row } from "./results.js";
import { median } from "./stats.js";

// Resource metrics and the HPA on the composed lab, with its own settings: metrics-server scrapes
// every 5 s (--metric-resolution), the HPA controller looks every 5 s (its sync period).
//   freshness: a pod starts burning one core; the time until the first PodMetrics showing it
//     (a tenth of the core or more), beside the resolution plus the time one scrape takes;
//   reaction: a pod of an HPA's Deployment starts burning three times its target; the time until
//     the HPA writes the larger scale, beside the floor the configuration allows (resolution +
//     sync period: a sample must be scraped, then seen by the controller);
//   cost: the CPU of the three kubelets and metrics-server with 30 pods running (no probes), per
//     10 s, as a share of one core; beside it the same with metrics-server stopped (what the
//     kubelets cost without being scraped), read from the containers' cgroups.

const RESOLUTION_S = 5;
const HPA_SYNC_S = 5;
const FRESHNESS_TRIALS = 5;
const REACTION_TRIALS = 3;
const COST_SECONDS = 60;
const NS = "bench-autoscaling";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const spread = (xs: number[]) =>
  `${s(median(xs))} (${xs.length} runs: ${[...xs]
    .sort((a, b) => a - b)
    .map(s)
    .join(", ")})`;

const obj = (json: unknown) => decodeObject(json).obj as KubeObject;

/** Burner pods, idle until told to burn, requesting `cpuRequest`. */
const burner = (name: string, replicas: number, cpuRequest: string) =>
  deploymentOf(NS, name, replicas, [
    {
      name: "burner",
      image: "kubelab/burner:dev",
      env: [{ name: "CPU_MILLICORES", value: "0" }],
      resources: { requests: { cpu: cpuRequest } },
      readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
    },
  ]);

/** Pods that do nothing (the sandbox image, no probes): what the kubelets and metrics-server cost for them is theirs alone. */
const quietPods = (name: string, replicas: number) => deploymentOf(NS, name, replicas, [{ name: "sleep", image: "kubelab/pause:dev" }]);

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 180_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function readyPods(lab: BenchLab, app: string, n: number): Promise<Pod[]> {
  return until(`${n} ready ${app} pods`, async () => {
    const pods = (await lab.client.list<Pod>("pods", { namespace: NS, labelSelector: `app=${app}` })).items.filter(
      (p) => p.status?.podIp && p.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
    );
    return pods.length >= n ? pods : undefined;
  });
}

const setLoad = (pod: Pod, millicores: number) =>
  fetch(`http://${pod.status!.podIp}:8080/load?millicores=${millicores}`, { method: "POST", signal: AbortSignal.timeout(5000) });

async function podCpuCores(lab: BenchLab, name: string): Promise<number | undefined> {
  const m = await lab.client.get<PodMetrics>("pods.metrics.k8s.io", NS, name);
  return m.containers.reduce((sum, c) => sum + parseQuantity(c.usage.cpu ?? "0"), 0);
}

/** How long after a pod starts burning one core the metrics API first shows it. */
async function freshness(lab: BenchLab): Promise<number[]> {
  await lab.client.create(burner("fresh", 1, "100m"));
  const [pod] = await readyPods(lab, "fresh", 1);
  const out: number[] = [];
  for (let i = 0; i < FRESHNESS_TRIALS; i++) {
    await until("an idle reading", async () => ((await podCpuCores(lab, pod!.metadata!.name)) ?? 1) < 0.05 || undefined, 60_000, 500);
    // A random phase against the scrapes, as a user's load would have.
    await sleep(Math.random() * RESOLUTION_S * 1000);
    const t0 = Date.now();
    await setLoad(pod!, 1000);
    await until("the burn in PodMetrics", async () => ((await podCpuCores(lab, pod!.metadata!.name)) ?? 0) >= 0.1 || undefined, 60_000, 50);
    out.push(Date.now() - t0);
    await setLoad(pod!, 0);
  }
  return out;
}

/** Scrape time, from metrics-server's own histogram. */
async function scrapeSeconds(lab: BenchLab): Promise<number> {
  const { stdout } = await exec("docker", [
    "exec",
    lab.container("metrics-server"),
    "wget",
    "-q",
    "-O",
    "-",
    "http://127.0.0.1:4444/metrics",
  ]);
  const sums = [...stdout.matchAll(/metrics_server_kubelet_request_duration_seconds_sum\{[^}]*\} ([\d.e+-]+)/g)].map((m) => Number(m[1]));
  const counts = [...stdout.matchAll(/metrics_server_kubelet_request_duration_seconds_count\{[^}]*\} ([\d.e+-]+)/g)].map((m) =>
    Number(m[1]),
  );
  const total = sums.reduce((a, b) => a + b, 0);
  const count = counts.reduce((a, b) => a + b, 0);
  return count ? total / count : 0;
}

/** From load start to the HPA's scale-up write (the Deployment's spec.replicas growing). */
async function reaction(lab: BenchLab): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < REACTION_TRIALS; i++) {
    const name = `react-${i}`;
    await lab.client.create(burner(name, 1, "100m"));
    await lab.client.create(
      obj({
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name, namespace: NS },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
          minReplicas: 1,
          maxReplicas: 4,
          metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
        },
      }),
    );
    const [pod] = await readyPods(lab, name, 1);
    // The HPA has measured the idle pod, a full window after it became ready.
    await until(
      "a valid metric",
      async () => {
        const h = (await lab.client.get("horizontalpodautoscalers", NS, name)) as KubeObject & {
          status?: { conditions: Array<{ type: string; status: string }> };
        };
        return h.status?.conditions.some((c) => c.type === "ScalingActive" && c.status === "True") || undefined;
      },
      120_000,
      500,
    );
    await sleep(Math.random() * RESOLUTION_S * 1000);
    const t0 = Date.now();
    await setLoad(pod!, 150);
    await until(
      "the scale-up",
      async () => ((await lab.client.get<Deployment>("deployments", NS, name)).spec?.replicas ?? 1) > 1 || undefined,
      120_000,
      50,
    );
    out.push(Date.now() - t0);
    await lab.client.delete("horizontalpodautoscalers", NS, name);
    await lab.client.delete("deployments", NS, name);
  }
  return out;
}

/** CPU seconds per 10 s of the given containers, from their cgroups on this host. */
async function containersCpuPer10s(ids: string[], seconds: number): Promise<number> {
  const reader = new CgroupReader("/sys/fs/cgroup");
  const total = (m: Map<string, { cpuUsageSeconds: number }>) => [...m.values()].reduce((a, u) => a + u.cpuUsageSeconds, 0);
  const a = total(await reader.read(ids));
  await sleep(seconds * 1000);
  const b = total(await reader.read(ids));
  return ((b - a) / seconds) * 10;
}

async function fullId(name: string): Promise<string> {
  return (await exec("docker", ["inspect", "--format", "{{.Id}}", name])).stdout.trim();
}

export default async function run(): Promise<void> {
  const lab = new BenchLab();
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    await lab.start();
    await lab.client.create(obj({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }));

    const fresh = await freshness(lab);
    const scrapeS = await scrapeSeconds(lab);
    const freshGoalMs = (RESOLUTION_S + scrapeS) * 1000;
    rows.push({
      metric: "metric freshness: a pod starts burning 1 core → first PodMetrics showing ≥ 100m",
      value: spread(fresh),
      target: `≤ resolution + one scrape = ${s(freshGoalMs)} (worst run)`,
      pass: Math.max(...fresh) <= freshGoalMs + 500,
    });

    const react = await reaction(lab);
    const floorMs = (RESOLUTION_S + HPA_SYNC_S) * 1000;
    rows.push({
      metric: "HPA reaction: load start → scale-up write",
      value: spread(react),
      target: `—`,
    });
    rows.push({
      metric: `HPA reaction ÷ floor (resolution ${RESOLUTION_S} s + sync period ${HPA_SYNC_S} s = ${s(floorMs)}), worst run`,
      value: (Math.max(...react) / floorMs).toFixed(2),
      target: "≤ 1.5",
      pass: Math.max(...react) / floorMs <= 1.5,
    });

    // 30 pods (and nothing else: the bench's burner Deployments are gone first).
    await lab.client.delete("deployments", NS, "fresh");
    await lab.client.create(quietPods("quiet", 30));
    await readyPods(lab, "quiet", 30);
    await until("only the 30 quiet pods", async () =>
      (await lab.client.list<Pod>("pods", { namespace: NS })).items.length === 30 ? true : undefined,
    );
    await sleep(15_000);
    const kubelets = await Promise.all(["node-1", "node-2", "node-3"].map((n) => fullId(lab.container(n))));
    const ms = await fullId(lab.container("metrics-server"));
    const scraped = await containersCpuPer10s([...kubelets, ms], COST_SECONDS);
    await exec("docker", ["stop", ms]);
    const unscraped = await containersCpuPer10s(kubelets, COST_SECONDS);
    rows.push({
      metric: `kubelets + metrics-server CPU per 10 s with 30 pods (scrapes every ${RESOLUTION_S} s), over ${COST_SECONDS} s`,
      value: `${scraped.toFixed(3)} s = ${((scraped / 10) * 100).toFixed(2)}% of a core`,
      target: "≤ 5% of a core",
      pass: scraped / 10 <= 0.05,
    });
    rows.push({
      metric: `reference, same run: the kubelets alone, metrics-server stopped, over ${COST_SECONDS} s`,
      value: `${unscraped.toFixed(3)} s = ${((unscraped / 10) * 100).toFixed(2)}% of a core`,
      target: "—",
    });
    notes.push(
      `Scrapes of one kubelet took ${(scrapeS * 1000).toFixed(0)} ms on average (metrics-server's metrics_server_kubelet_request_duration_seconds).`,
      "Freshness and reaction start at the POST that turns the load on, at a random phase against the scrapes; a reading that shows the load must come from a scrape after it.",
      "The kubelets' CPU is their node containers' cgroups (the kubelet and its node's init); pods have cgroups of their own and are not in it.",
      "The 30 pods have no probes: a probe every second on each pod costs the kubelets several times what the scrapes do, and would hide it.",
    );
  } finally {
    await lab.stop();
  }
  record("autoscaling", rows, notes);
}
