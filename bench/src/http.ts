import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { ConfigMapSchema, NamespaceSchema, PodSchema, decodeObject, type Pod } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { EtcdCluster, spawnApiServer } from "@kubelab/testkit";
import { record, type Row } from "./results.js";
import { median, percentile, pool } from "./stats.js";

// Kubernetes' HTTP API beside the gRPC API, on one API server over a real 3-member etcd cluster:
//   LIST of 10,000 pods as JSON (pages of 500, as kubectl and client-go's reflector ask) against
//   the same LIST over gRPC, same run; watch delivery with 100 HTTP watchers at 500 writes/s
//   (goal p99 ≤ 100 ms, as for gRPC), beside 100 gRPC watchers of the same writes; the wall time
//   of `kubectl get pods` against `kubelab get pods` on those 10,000 pods.

const exec = promisify(execFile);
const LIST_PODS = 10_000;
const LIST_PAGE = 500;
const LIST_RUNS = 5;
const WATCHERS = 100;
const WATCH_RATE = 500;
const WATCH_SECONDS = 6;
const CLI_RUNS = 3;
const now = () => performance.timeOrigin + performance.now();
const ms = (x: number) => `${x.toFixed(0)} ms`;

const podTemplate = decodeObject({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "t", namespace: "bench-list", labels: { app: "bench", tier: "web" } },
  spec: {
    containers: [
      {
        name: "app",
        image: "kubelab/echo:dev",
        ports: [{ name: "http", containerPort: 8080 }],
        env: [{ name: "MODE", value: "bench" }],
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 },
      },
    ],
  },
}).obj as Pod;

async function httpList(base: string, ns: string): Promise<number> {
  let items = 0;
  let cont = "";
  do {
    const res = await fetch(
      `${base}/api/v1/namespaces/${ns}/pods?limit=${LIST_PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
    );
    const body = (await res.json()) as { items: unknown[]; metadata: { continue?: string } };
    items += body.items.length;
    cont = body.metadata.continue ?? "";
  } while (cont);
  return items;
}

/** Each watcher's delivery delay of every write, by the object's name carrying its write time. */
async function watchDelays(
  start: (onEvent: (name: string) => void) => Promise<() => void>,
  client: ApiClient,
  ns: string,
): Promise<number[]> {
  const sent = new Map<string, number>();
  const delays: number[] = [];
  const stops: Array<() => void> = [];
  for (let i = 0; i < WATCHERS; i++) {
    stops.push(
      await start((name) => {
        const t = sent.get(name);
        if (t !== undefined) delays.push(now() - t);
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 1000));
  const total = WATCH_RATE * WATCH_SECONDS;
  const t0 = now();
  await pool(total, 32, async (i) => {
    const due = t0 + (i * 1000) / WATCH_RATE;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = `w-${i}-${Math.random().toString(36).slice(2, 7)}`;
    sent.set(name, now());
    await client.create(create(ConfigMapSchema, { metadata: { name, namespace: ns }, data: { i: String(i) } }));
  });
  await new Promise((r) => setTimeout(r, 2000));
  for (const s of stops) s();
  return delays;
}

export default async function run(): Promise<void> {
  const etcd = new EtcdCluster();
  await etcd.start();
  const api = await spawnApiServer(etcd.endpoints, ["--etcd-compaction-interval=0"]);
  const client = new ApiClient(`127.0.0.1:${api.port}`, { timeoutMs: 60_000 });
  const base = `http://127.0.0.1:${api.httpPort}`;
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const ns of ["bench-list", "bench-watch-http", "bench-watch-grpc"])
      await client.create(create(NamespaceSchema, { metadata: { name: ns } }));
    await pool(LIST_PODS, 32, async (i) => {
      const p = create(PodSchema, podTemplate);
      p.metadata!.name = `pod-${i}`;
      await client.create(p);
    });

    // 1. LIST: gRPC and HTTP alternating, so a drift of the machine's speed hits both.
    const grpcMs: number[] = [];
    const httpMs: number[] = [];
    for (let r = 0; r < LIST_RUNS + 1; r++) {
      let t = now();
      const g = (await client.listAll("pods", { namespace: "bench-list", limit: LIST_PAGE })).items.length;
      const gMs = now() - t;
      t = now();
      const h = await httpList(base, "bench-list");
      const hMs = now() - t;
      if (g !== LIST_PODS || h !== LIST_PODS) throw new Error(`listed ${g} over gRPC and ${h} over HTTP, not ${LIST_PODS}`);
      if (r === 0) continue; // warm-up
      grpcMs.push(gMs);
      httpMs.push(hMs);
    }
    rows.push({
      metric: `LIST ${LIST_PODS} pods over gRPC (pages of ${LIST_PAGE}), median of ${LIST_RUNS}`,
      value: ms(median(grpcMs)),
      target: "—",
    });
    rows.push({
      metric: `LIST ${LIST_PODS} pods as JSON over HTTP (pages of ${LIST_PAGE}), median of ${LIST_RUNS}`,
      value: ms(median(httpMs)),
      target: "—",
    });
    rows.push({ metric: "LIST over HTTP ÷ over gRPC", value: (median(httpMs) / median(grpcMs)).toFixed(2), target: "—" });

    // 2. Watch delivery: 100 HTTP watchers, then 100 gRPC watchers, each of 500 creates/s.
    const httpDelays = await watchDelays(
      async (onEvent) => {
        const ctrl = new AbortController();
        const res = await fetch(`${base}/api/v1/namespaces/bench-watch-http/configmaps?watch=true&resourceVersion=0`, {
          signal: ctrl.signal,
        });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let buf = "";
        void (async () => {
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) return;
              buf += decoder.decode(value, { stream: true });
              let nl = buf.indexOf("\n");
              while (nl >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                const m = /"name":"(w-[^"]+)"/.exec(line);
                if (m) onEvent(m[1]!);
                nl = buf.indexOf("\n");
              }
            }
          } catch {
            // aborted at the end
          }
        })();
        return () => ctrl.abort();
      },
      client,
      "bench-watch-http",
    );
    const grpcDelays = await watchDelays(
      async (onEvent) => {
        const w = client.watch("configmaps", { namespace: "bench-watch-grpc" });
        void (async () => {
          try {
            for await (const ev of w) if (ev.type === "ADDED") onEvent(ev.object.metadata?.name ?? "");
          } catch {
            // stopped at the end
          }
        })();
        return () => w.stop();
      },
      client,
      "bench-watch-grpc",
    );
    const expected = WATCHERS * WATCH_RATE * WATCH_SECONDS;
    rows.push({
      metric: `watch delivery p99, ${WATCHERS} HTTP watchers, ${WATCH_RATE} writes/s for ${WATCH_SECONDS} s`,
      value: `${ms(percentile(httpDelays, 99))} (p50 ${ms(percentile(httpDelays, 50))}; ${httpDelays.length} of ${expected} events)`,
      target: "≤ 100 ms",
      pass: percentile(httpDelays, 99) <= 100 && httpDelays.length === expected,
    });
    rows.push({
      metric: `reference, same run: ${WATCHERS} gRPC watchers (typed client, events decoded)`,
      value: `${ms(percentile(grpcDelays, 99))} (p50 ${ms(percentile(grpcDelays, 50))}; ${grpcDelays.length} of ${expected} events)`,
      target: "—",
    });

    // 3. kubectl get pods against kubelab get pods, the same 10,000 pods, alternating.
    const kubectlPath = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim();
    if (kubectlPath) {
      const dir = mkdtempSync(path.join(os.tmpdir(), "kubelab-bench-http-"));
      const kubeconfig = path.join(dir, "kubeconfig");
      writeFileSync(
        kubeconfig,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: b\n  cluster: {server: "${base}"}\ncontexts:\n- name: b\n  context: {cluster: b, user: b}\ncurrent-context: b\nusers:\n- name: b\n  user: {}\n`,
      );
      const cli = path.resolve("cli/bin/kubelab.js");
      const kubectlMs: number[] = [];
      const kubelabMs: number[] = [];
      for (let r = 0; r < CLI_RUNS + 1; r++) {
        let t = now();
        await exec(kubectlPath, ["--kubeconfig", kubeconfig, "--cache-dir", path.join(dir, "cache"), "get", "pods", "-n", "bench-list"], {
          maxBuffer: 64 << 20,
        });
        const k = now() - t;
        t = now();
        await exec(process.execPath, [cli, "-s", `127.0.0.1:${api.port}`, "get", "pods", "-n", "bench-list"], { maxBuffer: 64 << 20 });
        const l = now() - t;
        if (r === 0) continue;
        kubectlMs.push(k);
        kubelabMs.push(l);
      }
      rows.push({
        metric: `kubectl get pods (${LIST_PODS} pods, HTTP), wall time, median of ${CLI_RUNS}`,
        value: ms(median(kubectlMs)),
        target: "—",
      });
      rows.push({
        metric: `kubelab get pods (${LIST_PODS} pods, gRPC), wall time, median of ${CLI_RUNS}`,
        value: ms(median(kubelabMs)),
        target: "—",
      });
      rows.push({ metric: "kubectl ÷ kubelab", value: (median(kubectlMs) / median(kubelabMs)).toFixed(2), target: "—" });
    } else {
      notes.push("No kubectl on this machine: its part was not run.");
    }
    notes.push(
      "Both APIs are served by the same process over the same watch cache; the HTTP watch converts each event to JSON once for all its watchers.",
    );
  } finally {
    client.close();
    await api.stop();
    await etcd.stop();
  }
  record("http", rows, notes);
}
