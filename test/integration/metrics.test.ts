import { execFile } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeObject,
  NodeSchema,
  PodMetricsSchema,
  parseQuantity,
  type Deployment,
  type HorizontalPodAutoscaler,
  type NodeMetrics,
  type Pod,
  type PodMetrics,
} from "@kubelab/api";
import type { RunningApiServer } from "@kubelab/apiserver";
import type { ApiClient } from "@kubelab/client";
import { startMetricsServer, defaultMetricsServerConfig, type RunningMetricsServer } from "@kubelab/metrics-server";
import { createLogger, renderResourceMetrics, RESOURCE_METRICS_CONTENT_TYPE } from "@kubelab/service-kit";
import { freePort } from "@kubelab/testkit";
import { apiError } from "../support/apiError.js";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

// The scale subresource, and metrics.k8s.io through the API server's aggregation to a real
// metrics-server, which scrapes a kubelet's /metrics/resource: here an HTTP server on 127.0.0.1
// whose pod burns a steady quarter of a core (the kubelet's own reading of cgroups is tested
// beside it, and on the composed lab).

const bin = path.resolve("cli/bin/kubelab.js");

const deployment = (name: string) =>
  decodeObject({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "kubelab/burner:dev" }] } },
    },
  }).obj as Deployment;

/** A kubelet's /metrics/resource: one pod whose container has used 0.25 core-seconds per second since `startMs`. */
function fakeKubelet(startMs: number) {
  const server = http.createServer((_req, res) => {
    scrapes.count++;
    const nowMs = Date.now();
    const cpu = ((nowMs - startMs) / 1000) * 0.25;
    const text = renderResourceMetrics({
      scrapeError: false,
      node: { cpuUsageSeconds: cpu * 2, memoryWorkingSetBytes: 512 * 2 ** 20, timestampMs: nowMs },
      pods: [
        {
          namespace: "default",
          name: "web-1",
          cpuUsageSeconds: cpu,
          memoryWorkingSetBytes: 64 * 2 ** 20,
          timestampMs: nowMs,
          containers: [
            {
              name: "app",
              cpuUsageSeconds: cpu,
              memoryWorkingSetBytes: 64 * 2 ** 20,
              timestampMs: nowMs,
              startTimeSeconds: startMs / 1000,
            },
          ],
        },
      ],
    });
    res.writeHead(200, { "content-type": RESOURCE_METRICS_CONTENT_TYPE }).end(text);
  });
  const scrapes = { count: 0 };
  return Object.assign(server, { scrapes });
}

describe("the scale subresource and metrics.k8s.io", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let bare: { server: RunningApiServer; client: ApiClient };
  let metrics: RunningMetricsServer;
  let kubelet: ReturnType<typeof fakeKubelet>;
  let address: string;

  const kubelab = (args: string[], input?: string) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      const child = execFile(process.execPath, [bin, "-s", address, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });

  beforeAll(async () => {
    await etcd.start();
    const metricsPort = await freePort();
    ({ server, client } = await startTestApiServer(etcd.endpoints, { metricsServer: `127.0.0.1:${metricsPort}` }));
    address = `127.0.0.1:${server.port}`;
    // Another API server over the same etcd, with no metrics-server behind it.
    bare = await startTestApiServer(etcd.endpoints);
    kubelet = fakeKubelet(Date.now() - 60_000);
    await new Promise<void>((r) => kubelet.listen(0, "127.0.0.1", () => r()));
    const kubeletPort = (kubelet.address() as { port: number }).port;
    metrics = await startMetricsServer(
      defaultMetricsServerConfig({
        server: address,
        bindAddress: "127.0.0.1",
        port: metricsPort,
        metricsPort: 0,
        kubeletPort,
        metricResolutionSeconds: 3600,
      }),
      createLogger("metrics-server", () => {}),
    );
    await client.create(
      create(NodeSchema, {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "node-a", labels: { zone: "a" } },
        status: {
          addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
          allocatable: { cpu: "4", memory: "8Gi" },
          capacity: { cpu: "4", memory: "8Gi" },
        },
      }),
    );
    await client.create(
      decodeObject({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web-1", labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "kubelab/burner:dev" }] },
      }).obj as Pod,
    );
  });
  afterAll(async () => {
    await metrics?.close();
    kubelet?.close();
    bare?.client.close();
    await bare?.server.close();
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("reads and writes a Deployment's replicas through its scale, with the pods' selector", async () => {
    await client.create(deployment("web"));
    const scale = await client.getScale("deployments", "default", "web");
    expect(scale.kind).toBe("Scale");
    expect(scale.apiVersion).toBe("autoscaling/v1");
    expect(scale.spec?.replicas).toBe(2);
    expect(scale.status?.selector).toBe("app=web");
    const updated = await client.updateScale("deployments", { ...scale, spec: { ...scale.spec!, replicas: 5 } });
    expect(updated.spec?.replicas).toBe(5);
    expect((await client.get<Deployment>("deployments", "default", "web")).spec?.replicas).toBe(5);
    // The Scale's resourceVersion pins the write to that version of the Deployment.
    const stale = await apiError(client.updateScale("deployments", { ...scale, spec: { ...scale.spec!, replicas: 3 } }));
    expect(stale.code).toBe(grpc.status.ABORTED);
    expect(stale.message).toBe(
      'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it("refuses a negative scale, and a scale of a kind without one, in Kubernetes' words", async () => {
    const scale = await client.getScale("deployments", "default", "web");
    const neg = await apiError(client.updateScale("deployments", { ...scale, spec: { ...scale.spec!, replicas: -1 } }));
    expect(neg.reason).toBe("Invalid");
    expect(neg.message).toBe('Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    const pods = await apiError(client.getScale("pods" as "deployments", "default", "web-1"));
    expect(pods.code).toBe(grpc.status.NOT_FOUND);
    expect(pods.message).toBe("the server could not find the requested resource (pods/scale)");
  });

  it("kubelab scale goes through the scale subresource", async () => {
    const r = await kubelab(["scale", "deployment/web", "--replicas=1"]);
    expect(r.stdout).toBe("deployment.apps/web scaled\n");
    expect((await client.get<Deployment>("deployments", "default", "web")).spec?.replicas).toBe(1);
  });

  it("kubelab autoscale makes an autoscaling/v2 HPA as kubectl does, and get hpa prints it", async () => {
    const r = await kubelab(["autoscale", "deployment/web", "--cpu-percent=50", "--min=1", "--max=10"]);
    expect(r.stdout).toBe("horizontalpodautoscaler.autoscaling/web autoscaled\n");
    const hpa = await client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", "default", "web");
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", name: "web" });
    expect(hpa.spec?.metrics[0]?.resource?.target).toMatchObject({ type: "Utilization", averageUtilization: 50 });
    const table = (await kubelab(["get", "hpa"])).stdout
      .trimEnd()
      .split("\n")
      .map((l) => l.split(/ {3,}/));
    expect(table[0]).toEqual(["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]);
    expect(table[1]?.slice(0, 6)).toEqual(["web", "Deployment/web", "cpu: <unknown>/50%", "1", "10", "0"]);
    expect((await kubelab(["autoscale", "deployment/web", "--max=0"])).stderr).toBe(
      "error: --max=MAXPODS is required and must be at least 1, max: 0\n",
    );
    expect((await kubelab(["autoscale", "deployment/web", "--min=5", "--max=2"])).stderr).toBe(
      "error: --max=MAXPODS must be larger or equal to --min=MINPODS, max: 2, min: 5\n",
    );
    const invalid = await kubelab(
      ["apply", "-f", "-"],
      "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: bad}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  minReplicas: 3\n  maxReplicas: 1\n",
    );
    expect(invalid.stderr).toContain("spec.maxReplicas: Invalid value: 1: must be greater than or equal to `minReplicas`");
  });

  it("answers ServiceUnavailable when no metrics-server stands behind the API server", async () => {
    const e = await apiError(bare.client.list("pods.metrics.k8s.io", { namespace: "default" }));
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.reason).toBe("ServiceUnavailable");
    expect(e.message).toMatch(/^the server is currently unable to handle the request \(list pods\.metrics\.k8s\.io\)/);
  });

  it("has no usage before metrics-server has two readings, then the rate between them", async () => {
    // The first reading: once its informer has the node, a scrape reaches the kubelet.
    const deadline = Date.now() + 10_000;
    while (kubelet.scrapes.count === 0 && Date.now() < deadline) {
      await metrics.scrapeOnce();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(kubelet.scrapes.count).toBe(1);
    expect((await client.list<PodMetrics>("pods.metrics.k8s.io", { namespace: "default" })).items).toEqual([]);
    const e = await apiError(client.get("pods.metrics.k8s.io", "default", "web-1"));
    expect(e.code).toBe(grpc.status.NOT_FOUND);
    expect(e.message).toBe('podmetrics.metrics.k8s.io "default/web-1" not found');
    const top = await kubelab(["top", "pods"]);
    expect(top.stderr).toBe("error: metrics not available yet\n");
    await new Promise((r) => setTimeout(r, 500));
    await metrics.scrapeOnce();
    const [m] = (await client.list<PodMetrics>("pods.metrics.k8s.io", { namespace: "default", labelSelector: "app=web" })).items;
    expect(m?.metadata?.name).toBe("web-1");
    expect(m?.metadata?.labels).toEqual({ app: "web" });
    expect(m?.window).toMatch(/^\d+(\.\d+)?s$/);
    expect(parseQuantity(m!.containers[0]!.usage.cpu!)).toBeCloseTo(0.25, 2);
    expect(m!.containers[0]!.usage.memory).toBe("65536Ki");
    expect((await client.list("pods.metrics.k8s.io", { namespace: "default", labelSelector: "app=other" })).items).toEqual([]);
    const node = await client.get<NodeMetrics>("nodes.metrics.k8s.io", "", "node-a");
    expect(parseQuantity(node.usage.cpu!)).toBeCloseTo(0.5, 2);
  });

  it("kubelab top prints what kubectl top prints", async () => {
    const rows = (text: string) =>
      text
        .trimEnd()
        .split("\n")
        .map((l) => l.split(/ {3,}/));
    const pods = rows((await kubelab(["top", "pods"])).stdout);
    expect(pods[0]).toEqual(["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    expect(pods[1]).toEqual(["web-1", expect.stringMatching(/^2[45]\dm$/), "64Mi"]);
    const nodes = rows((await kubelab(["top", "nodes"])).stdout);
    expect(nodes[0]).toEqual(["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]);
    expect(nodes[1]).toEqual(["node-a", expect.stringMatching(/^(49\d|50\d)m$/), "12%", "512Mi", "6%"]);
  });

  it("refuses writes and watches of metrics: they are read-only", async () => {
    const write = await apiError(
      client.create(
        create(PodMetricsSchema, {
          apiVersion: "metrics.k8s.io/v1beta1",
          kind: "PodMetrics",
          metadata: { name: "x", namespace: "default" },
        }),
      ),
    );
    expect(write.reason).toBe("MethodNotAllowed");
    expect(write.message).toBe("the server does not allow this method on the requested resource");
    const stream = client.watch("pods.metrics.k8s.io", { namespace: "default" });
    const watched = await apiError(
      (async () => {
        for await (const _ of stream) break;
      })(),
    );
    expect(watched.reason).toBe("MethodNotAllowed");
  });

  it("lists metrics.k8s.io in discovery, get and list only", async () => {
    const resources = await client.apiResources();
    const pods = resources.find((r) => r.group === "metrics.k8s.io" && r.name === "pods");
    expect(pods).toMatchObject({ kind: "PodMetrics", version: "v1beta1", namespaced: true, verbs: ["get", "list"] });
    expect(resources.find((r) => r.name === "deployments/scale")).toMatchObject({ kind: "Scale", verbs: ["get", "patch", "update"] });
  });
});
