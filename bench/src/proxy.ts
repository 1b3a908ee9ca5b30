import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeObject, type Endpoints, type Service } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { EtcdCluster, freePort, spawnApiServer } from "@kubelab/testkit";
import { exec } from "./benchLab.js";
import { record, type Row } from "./results.js";
import { cpuSeconds } from "./machine.js";
import { wrk, type WrkResult } from "./wrk.js";

// kube-proxy against HAProxy over the same three backends, all on 127.0.0.1, load from wrk in
// its own process. The ClusterIP range is in 127.0.0.0/8 (already local on Linux), so the real
// kube-proxy, the same program as in the lab, serves a real Service with no route to add.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DURATION_S = 10;
const CONNECTIONS = 64;

function spawnNode(script: string, args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, script, ...args], {
    stdio: ["ignore", "ignore", process.env.KUBELAB_TEST_LOGS ? "inherit" : "ignore"],
    env: { ...process.env, ...env },
  });
}

async function waitHttp(url: string, ok: (status: number) => boolean = (s) => s === 200): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const st = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (ok(st)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

export default async function run(): Promise<void> {
  for (const tool of ["wrk", "haproxy"]) {
    await exec("sh", ["-c", `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is not installed: apt-get install wrk haproxy`);
    });
  }
  const children: ChildProcess[] = [];
  const etcd = new EtcdCluster();
  const tmp = mkdtempSync(path.join(os.tmpdir(), "kubelab-bench-proxy-"));
  const rows: Row[] = [];
  let client: ApiClient | undefined;
  let api: Awaited<ReturnType<typeof spawnApiServer>> | undefined;
  try {
    const backendPorts = [await freePort(), await freePort(), await freePort()];
    for (const [i, port] of backendPorts.entries()) {
      children.push(spawnNode(path.join(root, "images/workloads/echo/echo.mjs"), [], { PORT: String(port), POD_NAME: `web-${i + 1}` }));
    }
    for (const port of backendPorts) await waitHttp(`http://127.0.0.1:${port}/`);

    await etcd.start();
    api = await spawnApiServer(etcd.endpoints, ["--service-cluster-ip-range=127.77.0.0/24"]);
    client = new ApiClient(`127.0.0.1:${api.port}`, { timeoutMs: 20_000 });
    const svc = await client.create(
      decodeObject({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "default" },
        spec: { ports: [{ name: "http", port: 80 }] },
      }).obj as Service,
    );
    await client.create(
      decodeObject({
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: "web", namespace: "default" },
        subsets: backendPorts.map((port, i) => ({
          addresses: [{ ip: "127.0.0.1", targetRef: { kind: "Pod", name: `web-${i + 1}` } }],
          ports: [{ name: "http", port }],
        })),
      }).obj as Endpoints,
    );
    const require = createRequire(import.meta.url);
    const proxyMain = path.join(path.dirname(require.resolve("@kubelab/kube-proxy")), "main.js");
    const metricsPort = await freePort();
    const proxyProc = spawnNode(
      proxyMain,
      [`--server=127.0.0.1:${api.port}`, "--hostname-override=bench", `--metrics-port=${metricsPort}`, "--follow-node-container=false"],
      {},
      process.env.KUBELAB_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KUBELAB_CPU_PROF}`] : [],
    );
    children.push(proxyProc);
    const viaProxy = `http://${svc.spec!.clusterIp}:80/`;
    await waitHttp(viaProxy);

    // HAProxy with one thread, as kube-proxy has one event loop; HTTP mode, keep-alive to the backends.
    const haPort = await freePort();
    const cfg = path.join(tmp, "haproxy.cfg");
    writeFileSync(
      cfg,
      [
        "global",
        "  nbthread 1",
        "  maxconn 4096",
        "defaults",
        "  mode http",
        "  timeout connect 3s",
        "  timeout client 30s",
        "  timeout server 30s",
        "  option http-keep-alive",
        "frontend web",
        `  bind 127.0.0.1:${haPort}`,
        "  default_backend web",
        "backend web",
        "  balance leastconn",
        "  http-reuse always",
        ...backendPorts.map((p, i) => `  server web-${i + 1} 127.0.0.1:${p}`),
        "",
      ].join("\n"),
    );
    const haproxyProc = spawn("haproxy", ["-f", cfg, "-db"], { stdio: "ignore" });
    children.push(haproxyProc);
    const viaHaproxy = `http://127.0.0.1:${haPort}/`;
    await waitHttp(viaHaproxy);

    const direct = `http://127.0.0.1:${backendPorts[0]}/`;
    const targets = [
      ["one backend, directly", direct, undefined],
      ["kube-proxy (3 backends)", viaProxy, proxyProc.pid],
      ["HAProxy 2.6, 1 thread (3 backends)", viaHaproxy, haproxyProc.pid],
    ] as const;
    // Warm-up, then throughput at 64 connections, then latency with 4 (below saturation, where
    // added latency is the proxy's own and not a queue's).
    for (const [, url] of targets) await wrk(url, CONNECTIONS, 2);
    const load: WrkResult[] = [];
    const light: WrkResult[] = [];
    const cpuPerRequest: number[] = [];
    for (const [, url, pid] of targets) {
      const before = cpuSeconds(pid);
      const r = await wrk(url, CONNECTIONS, DURATION_S);
      cpuPerRequest.push(((cpuSeconds(pid) - before) / r.requests) * 1e6);
      load.push(r);
    }
    for (const [, url] of targets) light.push(await wrk(url, 4, DURATION_S));
    targets.forEach(([name], i) => {
      const l = load[i]!;
      const s = light[i]!;
      rows.push({ metric: `${name}: requests/s at ${CONNECTIONS} connections`, value: l.rps.toFixed(0), target: "" });
      rows.push({
        metric: `${name}: p50 / p99 at ${CONNECTIONS} connections`,
        value: `${l.p50.toFixed(2)} / ${l.p99.toFixed(2)} ms`,
        target: "",
      });
      rows.push({ metric: `${name}: p50 / p99 at 4 connections`, value: `${s.p50.toFixed(2)} / ${s.p99.toFixed(2)} ms`, target: "" });
      if (i > 0)
        rows.push({
          metric: `${name}: the proxy's own CPU per request at ${CONNECTIONS} connections`,
          value: `${cpuPerRequest[i]!.toFixed(1)} µs`,
          target: "",
        });
      if (l.errors + s.errors) rows.push({ metric: `${name}: errors`, value: String(l.errors + s.errors), target: "0", pass: false });
    });
    const ratio = load[1]!.rps / load[2]!.rps;
    rows.push({ metric: "throughput kube-proxy / HAProxy", value: ratio.toFixed(2), target: "≥ 0.6", pass: ratio >= 0.6 });
    const added = light[1]!.p99 - light[0]!.p99;
    rows.push({
      metric: "p99 added by kube-proxy at 4 connections (vs direct)",
      value: `${added.toFixed(2)} ms`,
      target: "≤ 2 ms",
      pass: added <= 2,
    });
    const addedHa = light[2]!.p99 - light[0]!.p99;
    rows.push({ metric: "p99 added by HAProxy at 4 connections (vs direct)", value: `${addedHa.toFixed(2)} ms`, target: "" });
    record("proxy", rows, [
      `Three echo backends (images/workloads/echo, Node) on 127.0.0.1; wrk (1 thread) in its own process, ${DURATION_S} s per run, after a 2 s warm-up of each target; the three targets run one after another in the same run.`,
      "kube-proxy is the lab's own program (services/kube-proxy) serving a Service whose ClusterIP is in 127.77.0.0/24, with Endpoints written to a real API server on a real 3-member etcd; HAProxy (Debian's 2.6) balances the same backends with leastconn in HTTP mode and keep-alive to the backends, one thread as kube-proxy has one event loop.",
      "On two cores the backends, the proxy under test and wrk share the machine: throughput through either proxy is bounded by what is left for the backends, the same for both.",
    ]);
  } finally {
    for (const c of children) c.kill("SIGTERM");
    client?.close();
    await api?.stop();
    await etcd.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
