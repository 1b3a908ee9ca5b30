import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pod, Service } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// Services on the composed lab: cluster DNS, each node's kube-proxy, NodePorts on 127.0.0.1.
// Pods that call services are shell loops whose logs the tests read (kubelab has no exec).
const NS = "default";
const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 90_000) => eventuallyWithin(what, fn, timeoutMs);

const web = (name: string, replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: echo
        image: kubelab/echo:dev
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1, failureThreshold: 1}
        lifecycle: {preStop: {exec: {command: [sleep, "2"]}}}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  type: NodePort
  selector: {app: ${name}}
  ports: [{name: http, port: 80, targetPort: http}]
`;

/** A pod on `node` that runs `script` (sh) and then sleeps, so its log can be read at leisure. */
const caller = (name: string, node: string, script: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${node}}
  terminationGracePeriodSeconds: 1
  containers:
  - name: sh
    image: kubelab/shell:dev
    command: [sh, -c, ${JSON.stringify(`${script}\nsleep 3600`)}]
`;

const podOf = (body: string) => (JSON.parse(body) as { pod: string }).pod;

describe("services on the composed lab", () => {
  // This suite runs its pods on Docker's own networking (the kubelet without the pod network
  // plugin), the others with the plugin: both ways of wiring a sandbox carry Service traffic.
  const lab = new TestLab({ KUBELAB_POD_NETWORK_PLUGIN: "" });
  let client: ApiClient;

  const apply = async (yaml: string) => {
    const r = await lab.kubelab(["apply", "-n", NS, "-f", "-"], yaml);
    expect(r).toMatchObject({ stderr: "", code: 0 });
  };
  const logs = async (name: string) => {
    const r = await lab.kubelab(["logs", "-n", NS, name]);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const readyPods = async (app: string) =>
    (await client.list<Pod>("pods", { namespace: NS, labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata!.deletionTimestamp && p.status?.conditions.some((c) => c.type === "Ready" && c.status === "True"),
    );
  const nodePortOf = async (svc: string) => (await client.get<Service>("services", NS, svc)).spec!.ports[0]!.nodePort;
  const get = async (url: string) => {
    const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: r.status, body: await r.text() };
  };

  beforeAll(async () => {
    await lab.start();
    client = new ApiClient(lab.server, { timeoutMs: 20_000 });
    await eventually("three Ready nodes", async () =>
      expect((await lab.kubelab(["get", "nodes", "--no-headers"])).stdout.match(/ Ready /g)?.length).toBe(3),
    );
    await apply(web("web", 3));
    await eventually("three ready web pods on three nodes", async () => {
      const pods = await readyPods("web");
      expect(pods).toHaveLength(3);
      expect(new Set(pods.map((p) => p.spec!.nodeName)).size).toBe(3);
    });
  });
  afterAll(() => {
    client?.close();
    lab.stop();
  });

  it("runs these pods' sandboxes on Docker's own pod networking, as the lab was asked", async () => {
    const uid = (await readyPods("web"))[0]!.metadata!.uid;
    const mode = await lab.docker(
      "ps",
      "-a",
      "--filter",
      `label=io.kubelab.pod.uid=${uid}`,
      "--filter",
      "label=io.kubelab.container.type=sandbox",
      "--format",
      "{{.Networks}}",
    );
    expect(mode.trim()).toBe(`${lab.project}_pods`);
  });

  it("spreads 300 requests from a pod on node-1 over the replicas on every node, by short and full name", async () => {
    await apply(
      caller(
        "spread",
        "node-1",
        `for i in $(seq 1 300); do wget -qO- http://web/ | grep -o '"pod":"[^"]*"' || echo failed; done; echo done-short
for i in 1 2 3; do wget -qO- http://web.${NS}.svc.cluster.local/ | grep -o '"pod":"[^"]*"' || echo failed; done; echo done-full`,
      ),
    );
    const out = await eventually("300 requests made", async () => {
      const o = await logs("spread");
      expect(o).toContain("done-full");
      return o;
    });
    const [short, full] = out.split("done-short\n");
    expect(short).not.toContain("failed");
    const counts = new Map<string, number>();
    for (const m of short!.matchAll(/"pod":"([^"]+)"/g)) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
    const pods = await readyPods("web");
    expect([...counts.keys()].sort()).toEqual(pods.map((p) => p.metadata!.name).sort());
    for (const n of counts.values()) {
      expect(n).toBeGreaterThanOrEqual(80);
      expect(n).toBeLessThanOrEqual(120);
    }
    expect(full!.match(/"pod":"/g)).toHaveLength(3);
    const table = await lab.kubelab(["get", "svc,endpoints", "-n", NS]);
    expect(table.stdout).toMatch(/^web\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:300\d\d\/TCP/m);
    expect(table.stdout).toMatch(/^web\s+(\d+\.\d+\.\d+\.\d+:8080,?){3}\s/m);
    const described = (await lab.kubelab(["describe", "svc", "web", "-n", NS])).stdout;
    expect(described).toMatch(/^Type:\s+NodePort$/m);
    expect(described).toMatch(/^TargetPort:\s+http\/TCP$/m);
    expect(described).toMatch(/^Endpoints:\s+(\d+\.\d+\.\d+\.\d+:8080,?){3}$/m);
  });

  it("reaches the service from the host through its NodePort on 127.0.0.1, and takes a pod out while it is not ready", async () => {
    const url = lab.nodePortUrl(await nodePortOf("web"));
    const [sick] = await readyPods("web");
    const sickIP = sick!.status!.podIp;
    const seen = async (n: number) => {
      const got = new Set<string>();
      for (let i = 0; i < n; i++) {
        const r = await get(url);
        expect(r.status).toBe(200);
        got.add(podOf(r.body));
      }
      return got;
    };
    expect((await seen(9)).size).toBe(3);
    // The pod address is on the lab's own pod network, which the host reaches.
    expect((await get(`http://${sickIP}:8080/fail-health`)).status).toBe(200);
    await eventually("the sick pod out of the service", async () => expect((await seen(12)).has(sick!.metadata!.name)).toBe(false), 30_000);
    expect((await seen(30)).has(sick!.metadata!.name)).toBe(false);
    expect((await get(`http://${sickIP}:8080/heal`)).status).toBe(200);
    await eventually("the pod back in the service", async () => expect((await seen(12)).has(sick!.metadata!.name)).toBe(true), 30_000);
  });

  it("answers 503 for a service without ready endpoints, resolves a headless service to its pods, and NXDOMAIN for unknown names", async () => {
    await apply(`
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  type: NodePort
  selector: {app: nobody}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-pods}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
`);
    const url = lab.nodePortUrl(await nodePortOf("nobody"));
    await eventually(
      "503 from the empty service",
      async () => expect(await get(url)).toEqual({ status: 503, body: `no endpoints available for service "${NS}/nobody"\n` }),
      30_000,
    );
    await apply(
      caller(
        "lookup",
        "node-2",
        `for i in $(seq 1 30); do echo "headless => $(nslookup -type=A web-pods 2>&1 | tr '\\n\\t' '  ')"; echo "unknown => $(nslookup -type=A nothere 2>&1 | tr '\\n\\t' '  ')"; sleep 1; done`,
      ),
    );
    const ips = (await readyPods("web")).map((p) => p.status!.podIp).sort();
    await eventually("the headless answers", async () => {
      const out = await logs("lookup");
      const line = out.split("\n").find((l) => l.startsWith("headless => ") && ips.every((ip) => l.includes(`Address: ${ip}`)));
      expect(line, out).toBeDefined();
      expect(out).toMatch(/^unknown => .*NXDOMAIN/m);
    });
  });

  it("loses no request through a rolling update under a steady stream of requests", async () => {
    const url = lab.nodePortUrl(await nodePortOf("web"));
    const before = new Set((await readyPods("web")).map((p) => p.metadata!.name));
    let stop = false;
    const failures: string[] = [];
    let served = 0;
    const stream = (async () => {
      while (!stop) {
        try {
          const r = await get(url);
          if (r.status === 200) served++;
          else failures.push(`${r.status} ${r.body}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(await lab.kubelab(["rollout", "restart", "deployment/web", "-n", NS])).toMatchObject({ code: 0 });
      expect(await lab.kubelab(["rollout", "status", "deployment/web", "-n", NS])).toMatchObject({ code: 0, stderr: "" });
      await eventually("the old pods gone", async () => {
        const all = (await client.list<Pod>("pods", { namespace: NS, labelSelector: "app=web" })).items;
        expect(all.filter((p) => before.has(p.metadata!.name))).toEqual([]);
      });
    } finally {
      stop = true;
      await stream;
    }
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(50);
    const now = await readyPods("web");
    expect(now.some((p) => before.has(p.metadata!.name))).toBe(false);
  });

  it("stopping one node's kube-proxy cuts off only that node's pods, until it starts again", async () => {
    const loop = `while :; do if timeout 3 wget -qO- http://web/ >/dev/null 2>&1; then echo ok; else echo fail; fi; sleep 0.3; done`;
    await apply(`${caller("on-two", "node-2", loop)}---\n${caller("on-three", "node-3", loop)}`);
    const tail = async (pod: string, n = 4) => (await logs(pod)).trim().split("\n").slice(-n);
    await eventually("both callers through", async () => {
      expect(await tail("on-two")).toEqual(["ok", "ok", "ok", "ok"]);
      expect(await tail("on-three")).toEqual(["ok", "ok", "ok", "ok"]);
    });
    const proxy2 = lab.container("kube-proxy-2");
    await lab.docker("stop", "-t", "1", proxy2);
    try {
      await eventually("node-2's pod cut off", async () => expect(await tail("on-two")).toEqual(["fail", "fail", "fail", "fail"]), 30_000);
      expect(await tail("on-three", 8)).toEqual(Array(8).fill("ok"));
    } finally {
      await lab.docker("start", proxy2);
    }
    await eventually("node-2's pod through again", async () => expect(await tail("on-two")).toEqual(["ok", "ok", "ok", "ok"]), 60_000);
  });
});
