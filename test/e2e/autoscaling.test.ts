import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment, Event, HorizontalPodAutoscaler, Pod } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// Resource metrics and the HorizontalPodAutoscaler on the composed lab: real CPU burned in burner
// pods, read from their cgroups by the kubelets, scraped by metrics-server, through the API
// server to `kubelab top` and to the HPA controller, which scales the Deployment up under load
// and down after the stabilization window (10 s here, set through compose) without it.
const NS = "autoscaling-e2e";

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 120_000) => eventuallyWithin(what, fn, timeoutMs);

const burner = (name: string, resources: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burner
        image: kubelab/burner:dev
        env: [{name: CPU_MILLICORES, value: "0"}]
        ${resources}
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: ${name}}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: ${name}}
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`;

describe("metrics and autoscaling on the composed lab", () => {
  const lab = TestLab.shared();
  let client: ApiClient;

  const kubelab = (...args: string[]) => lab.kubelab(["-n", NS, ...args]);
  const apply = async (yaml: string) => {
    const r = await lab.kubelab(["apply", "-n", NS, "-f", "-"], yaml);
    expect(r.stderr).toBe("");
  };
  const readyPod = (app: string) =>
    eventually(`a ready ${app} pod`, async () => {
      const pods = (await client.list<Pod>("pods", { namespace: NS, labelSelector: `app=${app}` })).items;
      const p = pods.find((x) => x.status?.conditions.some((c) => c.type === "Ready" && c.status === "True"));
      expect(p?.status?.podIp).toBeTruthy();
      return p!;
    });
  /** Sets a burner pod's steady load (the host reaches pod IPs on the pods network). */
  const setLoad = async (pod: Pod, millicores: number) => {
    const res = await fetch(`http://${pod.status!.podIp}:8080/load?millicores=${millicores}`, {
      method: "POST",
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(200);
  };
  const hpaEvents = async (name: string) =>
    (
      await client.list<Event>("events", {
        namespace: NS,
        fieldSelector: `involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=${name}`,
      })
    ).items;

  beforeAll(async () => {
    await lab.start();
    client = new ApiClient(lab.server, { timeoutMs: 20_000 });
    await lab.kubelab(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  });
  afterAll(() => {
    client?.close();
    lab.stop();
  });

  it("kubelab top nodes shows every node's CPU and memory from its cgroups", async () => {
    await eventually("node metrics", async () => {
      const r = await lab.kubelab(["top", "nodes"]);
      expect(r.stderr).toBe("");
      const rows = r.stdout
        .trimEnd()
        .split("\n")
        .map((l) => l.split(/ {3,}/));
      expect(rows[0]).toEqual(["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]);
      expect(rows.slice(1).map((x) => x[0])).toEqual(["node-1", "node-2", "node-3"]);
      // A node's working set holds at least its kubelet's Node.js heap.
      for (const row of rows.slice(1)) expect(Number.parseInt(row[3]!, 10)).toBeGreaterThan(10);
    });
  });

  it("scales a Deployment up when its pods burn CPU over the target, and kubelab top shows the burn", async () => {
    await apply(burner("burner", "resources: {requests: {cpu: 100m}}"));
    // The pod without a request, for the last test but one, starts meanwhile.
    await apply(burner("norequest", ""));
    const first = await readyPod("burner");
    // 200m in one pod is 200% of its request: 4 pods would bring the average to the 50% target.
    await setLoad(first, 200);
    await eventually("the burning pod in kubelab top", async () => {
      const r = await kubelab("top", "pod", first.metadata!.name, "--no-headers");
      expect(r.stderr).toBe("");
      const cpu = Number.parseInt(r.stdout.trim().split(/\s+/)[1]!, 10);
      expect(cpu).toBeGreaterThan(120);
    });
    const hpa = await eventually("the HPA's scale-up", async () => {
      const h = await client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", NS, "burner");
      expect(h.status?.desiredReplicas).toBeGreaterThan(1);
      return h;
    });
    expect(hpa.status?.currentMetrics[0]?.resource?.current?.averageUtilization).toBeGreaterThan(100);
    const d = await client.get<Deployment>("deployments", NS, "burner");
    expect(d.spec?.replicas).toBeGreaterThan(1);
    const rescale = (await hpaEvents("burner")).find((e) => e.reason === "SuccessfulRescale");
    expect(rescale?.message).toMatch(/^New size: [234]; reason: cpu resource utilization \(percentage of request\) above target$/);
    const table = await kubelab("get", "hpa", "burner", "--no-headers");
    expect(table.stdout).toMatch(/^burner\s+Deployment\/burner\s+cpu: \d+%\/50%\s+1\s+4\s+\d\s+\d+s\n$/);
  });

  it("scales back down to minReplicas once the load is gone, after the stabilization window", async () => {
    for (const p of (await client.list<Pod>("pods", { namespace: NS, labelSelector: "app=burner" })).items) {
      if (p.status?.podIp && !p.metadata?.deletionTimestamp) await setLoad(p, 0).catch(() => undefined);
    }
    await eventually(
      "the scale-down to 1",
      async () => {
        const d = await client.get<Deployment>("deployments", NS, "burner");
        expect(d.spec?.replicas).toBe(1);
      },
      180_000,
    );
    expect(
      (await hpaEvents("burner")).some(
        (e) => e.reason === "SuccessfulRescale" && e.message === "New size: 1; reason: All metrics below target",
      ),
    ).toBe(true);
  });

  it("reports a pod without a CPU request as Kubernetes does, and does not scale", async () => {
    const pod = await readyPod("norequest");
    const h = await eventually("ScalingActive False", async () => {
      const x = await client.get<HorizontalPodAutoscaler>("horizontalpodautoscalers", NS, "norequest");
      const c = x.status?.conditions.find((y) => y.type === "ScalingActive");
      expect(c?.status).toBe("False");
      expect(c?.reason).toBe("FailedGetResourceMetric");
      expect(c?.message).toContain(`missing request for cpu in container burner of Pod ${pod.metadata!.name}`);
      return x;
    });
    expect(h.status?.currentReplicas).toBe(1);
    const described = await kubelab("describe", "hpa", "norequest");
    expect(described.stdout).toMatch(
      /ScalingActive\s+False\s+FailedGetResourceMetric\s+the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu/,
    );
  });

  it("says so clearly when metrics-server is down, and recovers when it is back", async () => {
    await lab.docker("stop", lab.container("metrics-server"));
    try {
      const r = await kubelab("top", "pods");
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /^Error from server \(ServiceUnavailable\): the server is currently unable to handle the request \(list pods\.metrics\.k8s\.io\)/,
      );
    } finally {
      await lab.docker("start", lab.container("metrics-server"));
    }
    await eventually("metrics again", async () => {
      const r = await kubelab("top", "pods", "-l", "app=burner", "--no-headers");
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^burner-\S+\s+\d+m\s+\d+Mi\n$/);
    });
  });
});
