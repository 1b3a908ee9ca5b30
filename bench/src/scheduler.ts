import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { create } from "@bufbuild/protobuf";
import { LeaseSchema, NamespaceSchema, NodeSchema, PodSchema, type Lease, type Pod } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { EtcdCluster, freePort, spawnApiServer } from "@kubelab/testkit";
import { record, type Row } from "./results.js";
import { percentile, pool } from "./stats.js";

const NODES = 100;
const PENDING = 2000;
const LATENCY_PODS = 500;
const LATENCY_RATE = 200;
const CONCURRENCY = 16;

const now = () => performance.timeOrigin + performance.now();

function pendingPod(name: string, namespace: string): Pod {
  return create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app: "bench" } },
    spec: { containers: [{ name: "app", image: "kubelab/echo:dev", resources: { requests: { cpu: "100m", memory: "64Mi" } } }] },
  });
}

/** Emulated nodes as kubemark makes them: Node objects with Ready status and fresh leases, no containers. */
async function emulateNodes(client: ApiClient): Promise<() => void> {
  const leases: Lease[] = [];
  await pool(NODES, CONCURRENCY, async (i) => {
    const name = `hollow-${String(i).padStart(3, "0")}`;
    const node = await client.create(
      create(NodeSchema, {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels: { "kubernetes.io/hostname": name } },
        status: {
          capacity: { cpu: "32", memory: "64Gi", pods: "110" },
          allocatable: { cpu: "32", memory: "64Gi", pods: "110" },
          conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: new Date().toISOString() }],
        },
      }),
    );
    leases.push(
      await client.create(
        create(LeaseSchema, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            name,
            namespace: "kube-node-lease",
            ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: node.metadata!.uid }],
          },
          spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString() },
        }),
      ),
    );
  });
  const timer = setInterval(() => {
    void pool(leases.length, 4, async (i) => {
      const l = leases[i]!;
      l.spec!.renewTime = new Date().toISOString();
      leases[i] = await client.update(l).catch(() => l);
    });
  }, 10_000);
  return () => clearInterval(timer);
}

/** The scheduler as its own process, as in the lab; resolves when /readyz answers. */
async function spawnScheduler(server: string): Promise<{ stop(): void }> {
  const require = createRequire(import.meta.url);
  const main = path.join(path.dirname(require.resolve("@kubelab/scheduler")), "main.js");
  const metricsPort = await freePort();
  const proc = spawn(process.execPath, [main, `--server=${server}`, `--metrics-port=${metricsPort}`, `--parallelism=${CONCURRENCY}`], {
    stdio: ["ignore", "ignore", process.env.KUBELAB_TEST_LOGS ? "inherit" : "ignore"],
  });
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error("the scheduler did not become ready");
    await new Promise((r) => setTimeout(r, 20));
  }
  return { stop: () => proc.kill("SIGTERM") };
}

/** When each pod of the namespace got its node, as a watch sees it. */
function watchBindings(client: ApiClient, namespace: string, resourceVersion: string) {
  const boundAt = new Map<string, number>();
  const stream = client.watch<Pod>("pods", { namespace, resourceVersion });
  const done = (async () => {
    try {
      for await (const ev of stream) {
        if (ev.object.spec?.nodeName && !boundAt.has(ev.object.metadata!.name)) boundAt.set(ev.object.metadata!.name, now());
      }
    } catch {
      /* stopped */
    }
  })();
  return {
    boundAt,
    async until(count: number, timeoutMs = 300_000) {
      const deadline = now() + timeoutMs;
      while (boundAt.size < count && now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (boundAt.size < count) throw new Error(`only ${boundAt.size}/${count} pods bound`);
    },
    stop: async () => {
      stream.stop();
      await done;
    },
  };
}

export default async function run(): Promise<void> {
  const etcd = new EtcdCluster();
  await etcd.start();
  const api = await spawnApiServer(etcd.endpoints, ["--etcd-compaction-interval=0"]);
  const server = `127.0.0.1:${api.port}`;
  const client = new ApiClient(server, { timeoutMs: 60_000 });
  const rows: Row[] = [];
  let stopLeases = () => {};
  let scheduler: { stop(): void } | undefined;
  try {
    for (const ns of ["ref", "sched", "latency"]) await client.create(create(NamespaceSchema, { metadata: { name: ns } }));
    stopLeases = await emulateNodes(client);

    // Reference: the API server's own ceiling for bindings, raw Bind calls at the scheduler's concurrency.
    await pool(PENDING, 32, (i) => client.create(pendingPod(`ref-${i}`, "ref")).then(() => {}));
    const t0 = now();
    await pool(PENDING, CONCURRENCY, (i) => client.bind("ref", `ref-${i}`, `hollow-${String(i % NODES).padStart(3, "0")}`).then(() => {}));
    const rawRate = PENDING / ((now() - t0) / 1000);

    // Throughput: 2,000 pending pods, then the scheduler starts and drains them.
    await pool(PENDING, 32, (i) => client.create(pendingPod(`p-${i}`, "sched")).then(() => {}));
    const rv = (await client.list("pods", { namespace: "sched", limit: 1 })).resourceVersion;
    const drained = watchBindings(client, "sched", rv);
    const start = now();
    scheduler = await spawnScheduler(server);
    const ready = now();
    await drained.until(PENDING);
    const last = Math.max(...drained.boundAt.values());
    await drained.stop();
    const rate = PENDING / ((last - ready) / 1000);

    // Latency: pods created at a steady rate while the scheduler runs, create sent → bound seen.
    const lrv = (await client.list("pods", { namespace: "latency", limit: 1 })).resourceVersion;
    const watched = watchBindings(client, "latency", lrv);
    const sentAt = new Map<string, number>();
    const lstart = now();
    const creates: Promise<unknown>[] = [];
    for (let i = 0; i < LATENCY_PODS; i++) {
      const wait = lstart + (i * 1000) / LATENCY_RATE - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      sentAt.set(`l-${i}`, now());
      creates.push(client.create(pendingPod(`l-${i}`, "latency")));
    }
    await Promise.all(creates);
    await watched.until(LATENCY_PODS);
    await watched.stop();
    const latencies = [...watched.boundAt].map(([name, t]) => t - sentAt.get(name)!);

    rows.push({
      metric: `reference: raw Bind calls through the API server (${CONCURRENCY} in flight)`,
      value: `${rawRate.toFixed(0)}/s`,
      target: "",
    });
    rows.push({
      metric: `scheduler throughput, ${PENDING} pending pods on ${NODES} emulated nodes`,
      value: `${rate.toFixed(0)} pods/s`,
      target: "≥ 500 pods/s",
      pass: rate >= 500,
    });
    rows.push({ metric: "ratio scheduler / raw Bind", value: (rate / rawRate).toFixed(2), target: "" });
    rows.push({
      metric: "scheduler start to ready (informers synced over 4,000 pods)",
      value: `${(ready - start).toFixed(0)} ms`,
      target: "",
    });
    rows.push({
      metric: `scheduling latency p50, pods created at ${LATENCY_RATE}/s (create sent → binding seen)`,
      value: `${percentile(latencies, 50).toFixed(1)} ms`,
      target: "",
    });
    rows.push({ metric: "scheduling latency p99", value: `${percentile(latencies, 99).toFixed(1)} ms`, target: "" });
    record("scheduler", rows, [
      "The scheduler runs as its own process (as in the lab) against an API server process on a local 3-member etcd; nodes are Node objects with Ready status and leases renewed every 10 s, as kubemark's hollow nodes.",
      "Each binding also records a Scheduled event, as kube-scheduler does; the reference is bare Bind calls with no events.",
    ]);
  } finally {
    scheduler?.stop();
    stopLeases();
    client.close();
    await api.stop();
    await etcd.stop();
  }
}
