import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event, Node, Pod, Service } from "@kubelab/api";
import { ApiClient, isNotFound } from "@kubelab/client";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// LoadBalancer Services on the composed lab: the cloud-controller-manager gives each an address
// of the host's loopback (from the lab's own range) and serves it from the host's network.
const NS = "default";
const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 90_000) => eventuallyWithin(what, fn, timeoutMs);

const deployment = (name: string, replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: kubelab/echo:dev
        ports: [{name: http, containerPort: 8080}]
        env:
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
`;

const loadBalancer = (name: string, app: string, extra = "") => `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  type: LoadBalancer
  selector: {app: ${app}}
  ports: [{name: http, port: 80, targetPort: http}]
${extra}
`;

/** GET http://ip:80/ from `localAddress`, answering the echo's JSON, or the error's code. */
function get(ip: string, localAddress = "127.0.0.1"): Promise<{ status: number; pod: string; node: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port: 80, path: "/", localAddress, agent: false, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => {
        const j = JSON.parse(body) as { pod: string; node: string };
        resolve({ status: res.statusCode ?? 0, pod: j.pod, node: j.node });
      });
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

describe("LoadBalancer Services on the composed lab", () => {
  const lab = TestLab.shared();
  let client: ApiClient;

  const apply = async (yaml: string) => {
    const r = await lab.kubelab(["apply", "-n", NS, "-f", "-"], yaml);
    expect(r).toMatchObject({ stderr: "", code: 0 });
  };
  const svc = (name: string) => client.get<Service>("services", NS, name);
  const addressOf = (name: string) =>
    eventually(`an address for ${name}`, async () => {
      const ip = (await svc(name)).status?.loadBalancer?.ingress[0]?.ip;
      expect(ip).toBeTruthy();
      return ip!;
    });
  const readyPods = async (app: string) =>
    (await client.list<Pod>("pods", { namespace: NS, labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata!.deletionTimestamp && p.status?.conditions.some((c) => c.type === "Ready" && c.status === "True"),
    );
  const reasonsFor = async (name: string) =>
    (await client.list<Event>("events", { namespace: NS })).items
      .filter((e) => e.involvedObject?.kind === "Service" && e.involvedObject.name === name)
      .map((e) => e.reason);

  beforeAll(async () => {
    await lab.start();
    client = new ApiClient(lab.server, { timeoutMs: 20_000 });
    await eventually("three Ready nodes", async () =>
      expect((await lab.kubelab(["get", "nodes", "--no-headers"])).stdout.match(/ Ready /g)?.length).toBe(3),
    );
    await apply(`${deployment("echo", 3)}---${deployment("solo", 1)}`);
    await eventually("three echo pods and one solo pod ready", async () => {
      expect(await readyPods("echo")).toHaveLength(3);
      expect(await readyPods("solo")).toHaveLength(1);
    });
  });
  afterAll(() => {
    client?.close();
    lab.stop();
  });

  it("gives two LoadBalancer Services their own addresses, each answering on port 80 from the host", async () => {
    await apply(`${loadBalancer("lb-a", "echo")}---${loadBalancer("lb-b", "echo")}`);
    const a = await addressOf("lb-a");
    const b = await addressOf("lb-b");
    expect(a).not.toBe(b);
    const [prefix] = lab.loadBalancerIpRange.split(".0/");
    expect(a.startsWith(`${prefix}.`) && b.startsWith(`${prefix}.`)).toBe(true);
    for (const ip of [a, b]) {
      const pods = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const r = await get(ip);
        expect(r).toMatchObject({ status: 200 });
        pods.add((r as { pod: string }).pod);
      }
      expect(pods.size).toBeGreaterThan(1);
    }
    const s = await svc("lb-a");
    expect(s.metadata!.finalizers).toContain("service.kubernetes.io/load-balancer-cleanup");
    expect(s.spec!.ports[0]!.nodePort).toBeGreaterThan(0);
    const table = await lab.kubelab(["get", "svc", "lb-a", "lb-b"]);
    expect(table.stdout).toMatch(/EXTERNAL-IP/);
    expect(table.stdout).toContain(a);
    expect(table.stdout).toContain(b);
    await eventually("EnsuringLoadBalancer and EnsuredLoadBalancer events", async () =>
      expect(await reasonsFor("lb-a")).toEqual(expect.arrayContaining(["EnsuringLoadBalancer", "EnsuredLoadBalancer"])),
    );
  });

  it("stops answering at the address once the Service is deleted, and the finalizer lets it go", async () => {
    const a = await addressOf("lb-a");
    expect((await lab.kubelab(["delete", "svc", "lb-a", "-n", NS])).code).toBe(0);
    await eventually("lb-a gone", async () => {
      const err = await svc("lb-a").catch((e: unknown) => e);
      expect(isNotFound(err)).toBe(true);
    });
    expect(await get(a)).toEqual({ error: "ECONNREFUSED" });
    await eventually("DeletingLoadBalancer and DeletedLoadBalancer events", async () =>
      expect(await reasonsFor("lb-a")).toEqual(expect.arrayContaining(["DeletingLoadBalancer", "DeletedLoadBalancer"])),
    );
    // The other one goes on.
    expect(await get(await addressOf("lb-b"))).toMatchObject({ status: 200 });
  });

  it("cleans up when a Service stops being a LoadBalancer: address closed, finalizer and status gone", async () => {
    const b = await addressOf("lb-b");
    await client.patch<Service>("services", NS, "lb-b", { spec: { type: "ClusterIP" } });
    await eventually("lb-b cleaned up", async () => {
      const s = await svc("lb-b");
      expect(s.metadata!.finalizers).toEqual([]);
      expect(s.status?.loadBalancer?.ingress ?? []).toEqual([]);
    });
    expect(await get(b)).toEqual({ error: "ECONNREFUSED" });
    expect((await lab.kubelab(["get", "svc", "lb-b", "--no-headers"])).stdout).toMatch(/ClusterIP\s+\S+\s+<none>/);
  });

  it("with externalTrafficPolicy Local sends only to the node that has the endpoint, whose health check alone answers 200", async () => {
    await apply(loadBalancer("lb-local", "solo", "  externalTrafficPolicy: Local"));
    const ip = await addressOf("lb-local");
    const [pod] = await readyPods("solo");
    const podNode = pod!.spec!.nodeName;
    const s = await svc("lb-local");
    const hc = s.spec!.healthCheckNodePort;
    expect(hc).toBeGreaterThan(0);
    const nodes = (await client.list<Node>("nodes")).items;
    await eventually("each node's health check", async () => {
      for (const n of nodes) {
        const addr = n.status!.addresses.find((x) => x.type === "InternalIP")!.address;
        const r = await fetch(`http://${addr}:${hc}/healthz`, { signal: AbortSignal.timeout(3_000) });
        const body = (await r.json()) as { localEndpoints: number; service: { name: string } };
        expect(body.service.name).toBe("lb-local");
        expect([n.metadata!.name, r.status, body.localEndpoints]).toEqual(
          n.metadata!.name === podNode ? [podNode, 200, 1] : [n.metadata!.name, 503, 0],
        );
      }
    });
    const landed = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await eventually("an answer through lb-local", async () => {
        const x = await get(ip);
        expect(x).toMatchObject({ status: 200 });
        return x as { node: string };
      });
      landed.add(r.node);
    }
    expect([...landed]).toEqual([podNode]);
  });

  it("refuses connections from sources outside loadBalancerSourceRanges", async () => {
    await apply(loadBalancer("lb-ranges", "echo", '  loadBalancerSourceRanges: ["127.0.0.2/32"]'));
    const ip = await addressOf("lb-ranges");
    await eventually("an answer from the allowed source", async () => expect(await get(ip, "127.0.0.2")).toMatchObject({ status: 200 }));
    expect(await get(ip, "127.0.0.1")).toEqual({ error: "ECONNRESET" });
    expect(await get(ip, "127.0.0.3")).toEqual({ error: "ECONNRESET" });
  });
});
