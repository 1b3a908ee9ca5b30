import { execFile } from "node:child_process";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { NamespaceSchema, PodSchema, type Pod } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { freePort } from "@kubelab/testkit";
// @ts-expect-error plain ESM shared with scripts/lab.mjs, no type declarations
import * as labTools from "../../scripts/labTools.mjs";
import { record, type Row } from "./results.js";
import { median, percentile } from "./stats.js";

const exec = promisify(execFile);
const PODS = 20;
const IMAGE = "kubelab/echo:dev";
const now = () => performance.timeOrigin + performance.now();

interface LabTools {
  buildAll(log?: (m: string) => void, opts?: { workspace?: boolean }): void;
  composeRun(project: string, args: string[], opts?: { quiet?: boolean; env?: Record<string, string> }): void;
  waitHealthy(project: string): Promise<void>;
  teardown(project: string): void;
}
const tools = labTools as unknown as LabTools;

function benchPod(name: string): Pod {
  return create(PodSchema, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "bench-pods" }, spec: { containers: [{ name: "app", image: IMAGE }] } });
}

/** Create → phase Running, one pod at a time, as a watch sees it. */
async function podStartup(client: ApiClient, name: string): Promise<number> {
  const rv = (await client.list("pods", { namespace: "bench-pods", limit: 1 })).resourceVersion;
  const stream = client.watch<Pod>("pods", { namespace: "bench-pods", resourceVersion: rv, fieldSelector: `metadata.name=${name}` });
  const t0 = now();
  await client.create(benchPod(name));
  try {
    for await (const ev of stream) if (ev.object.status?.phase === "Running") return now() - t0;
  } finally {
    stream.stop();
  }
  throw new Error(`${name}: the watch ended before Running`);
}

/** `docker run -d` of the same image (on the given network): returns once the container is started. */
async function dockerRun(name: string, network?: string): Promise<number> {
  const t0 = now();
  await exec("docker", ["run", "-d", "--label", "io.kubelab.lab=true", "--label", "io.kubelab.bench=pods", "--name", `kubelab-bench-${process.pid}-${name}`, ...(network ? ["--network", network] : []), IMAGE]);
  return now() - t0;
}

export default async function run(): Promise<void> {
  const project = `kubelab-bench-${process.pid}`;
  const port = await freePort();
  const cleanupRuns = () =>
    exec("sh", ["-c", `docker rm -f $(docker ps -aq --filter label=io.kubelab.bench=pods) 2>/dev/null || true`]).catch(() => undefined);
  tools.buildAll(() => {}, { workspace: false });
  tools.composeRun(project, ["up", "-d"], { quiet: true, env: { KUBELAB_API_PORT: String(port) } });
  const client = new ApiClient(`127.0.0.1:${port}`, { timeoutMs: 60_000 });
  const rows: Row[] = [];
  try {
    await tools.waitHealthy(project);
    await client.create(create(NamespaceSchema, { metadata: { name: "bench-pods" } }));
    // Nodes register just after they turn healthy; wait for all three Ready.
    for (let i = 0; ; i++) {
      const nodes = (await client.list("nodes")).items as Array<{ status?: { conditions: Array<{ type: string; status: string }> } }>;
      if (nodes.filter((n) => n.status?.conditions.some((c) => c.type === "Ready" && c.status === "True")).length === 3) break;
      if (i > 120) throw new Error("nodes not Ready");
      await new Promise((r) => setTimeout(r, 500));
    }
    // One of each first, so neither side pays for a cold start.
    const podNetwork = `${project.replace(/[^a-z0-9_-]/g, "")}_pods`;
    await podStartup(client, "warm");
    await dockerRun("warm", podNetwork);
    await dockerRun("warm-bridge");

    const pods: number[] = [];
    const runs: number[] = [];
    const bridgeRuns: number[] = [];
    for (let i = 0; i < PODS; i++) {
      runs.push(await dockerRun(`run-${i}`, podNetwork));
      pods.push(await podStartup(client, `p-${i}`));
      bridgeRuns.push(await dockerRun(`bridge-${i}`));
    }
    const ratio = median(pods) / median(runs);
    rows.push({ metric: `pod create → Running, ${PODS} pods one at a time, p50`, value: `${median(pods).toFixed(0)} ms`, target: "" });
    rows.push({ metric: "pod create → Running, p99", value: `${percentile(pods, 99).toFixed(0)} ms`, target: "" });
    rows.push({ metric: `docker run -d of the same image on the lab's pod network, ${PODS} times, p50`, value: `${median(runs).toFixed(0)} ms`, target: "" });
    rows.push({ metric: "docker run -d on the pod network, p99", value: `${percentile(runs, 99).toFixed(0)} ms`, target: "" });
    rows.push({ metric: "docker run -d on Docker's default bridge, p50 (for comparison)", value: `${median(bridgeRuns).toFixed(0)} ms`, target: "" });
    rows.push({ metric: "ratio pod p50 / docker run p50", value: ratio.toFixed(2), target: "≤ 1.5", pass: ratio <= 1.5 });
    rows.push({ metric: "ratio pod p99 / docker run p99", value: (percentile(pods, 99) / percentile(runs, 99)).toFixed(2), target: "" });
    record("pods", rows, [
      "On the composed lab (3 nodes, scheduler, API server, 3-member etcd). A pod's path: API create, scheduler bind, the node's kubelet sees it, creates and starts the sandbox (the pod's network) and the app container, writes status Running; measured by a watch.",
      "The reference is `docker run -d` through the docker CLI (create and start of one container) on the same Docker network the pods get their addresses on, alternating with the pods in the same run. Docker's default bridge is faster to join (no embedded DNS); its figure is shown for comparison.",
    ]);
  } finally {
    client.close();
    await cleanupRuns();
    tools.teardown(project);
  }
}
