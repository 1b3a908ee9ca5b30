import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeObject, type Endpoints, type Service } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { defaultKubeProxyConfig, startKubeProxy, type RunningKubeProxy } from "@kubelab/kube-proxy";
import { createLogger } from "@kubelab/service-kit";
import { EtcdCluster, freePort, freePortRange } from "@kubelab/testkit";
import { startTestApiServer } from "../support/apiServer.js";
import { eventually as eventuallyWithin } from "../support/eventually.js";

// kube-proxy on real sockets against a real API server on a real etcd, without Docker: the
// ClusterIP range is in 127.0.0.0/8, which Linux already treats as local, so the proxy listens on
// ClusterIPs with no route to add; the "pods" are HTTP servers on 127.0.1.x, and the test writes
// Endpoints itself (its Services have no selector, so no controller would).
const NS = "default";

interface Backend {
  name: string;
  ip: string;
  port: number;
  hits: number;
  server: http.Server;
  /** Holds each response this long. */
  delayMs: number;
}

async function startBackend(name: string, ip: string, port: number): Promise<Backend> {
  const b: Backend = { name, ip, port, hits: 0, delayMs: 0, server: undefined as unknown as http.Server };
  b.server = http.createServer((req, res) => {
    b.hits++;
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () =>
      setTimeout(() => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`${name} ${req.method} ${req.url} ${body}`);
      }, b.delayMs),
    );
  });
  await new Promise<void>((r) => b.server.listen(port, ip, () => r()));
  return b;
}

function request(
  url: string,
  init: { method?: string; body?: string; agent?: http.Agent } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? "GET", agent: init.agent ?? false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 10_000) => eventuallyWithin(what, fn, timeoutMs, 50);

describe("kube-proxy", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let proxy: RunningKubeProxy;
  let nodePortBase = 0;
  const backends: Backend[] = [];
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

  const service = async (name: string, spec: Record<string, unknown>) =>
    client.create(decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: NS }, spec }).obj as Service);
  const setEndpoints = async (name: string, ready: Backend[], notReady: Backend[] = [], portName = "") => {
    const port = (ready[0] ?? notReady[0] ?? backends[0]!).port;
    const eps = decodeObject({
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name, namespace: NS },
      subsets: [
        {
          addresses: ready.map((b) => ({ ip: b.ip, nodeName: "node-1", targetRef: { kind: "Pod", name: b.name, namespace: NS } })),
          notReadyAddresses: notReady.map((b) => ({
            ip: b.ip,
            nodeName: "node-1",
            targetRef: { kind: "Pod", name: b.name, namespace: NS },
          })),
          ports: [{ name: portName, port }],
        },
      ],
    }).obj as Endpoints;
    try {
      const cur = await client.get<Endpoints>("endpoints", NS, name);
      eps.metadata!.resourceVersion = cur.metadata!.resourceVersion;
      await client.update(eps);
    } catch {
      await client.create(eps);
    }
  };

  beforeAll(async () => {
    await etcd.start();
    nodePortBase = await freePortRange(10);
    ({ server, client } = await startTestApiServer(etcd.endpoints, {
      serviceClusterIpRange: "127.77.0.0/24",
      serviceNodePortRange: `${nodePortBase}-${nodePortBase + 9}`,
    }));
    const port = await freePort();
    for (let i = 1; i <= 3; i++) backends.push(await startBackend(`web-${i}`, `127.0.1.${i}`, port));
    const logs: string[] = [];
    proxy = await startKubeProxy(
      defaultKubeProxyConfig({
        server: `127.0.0.1:${server.port}`,
        nodeName: "node-1",
        metricsPort: 0,
        nodePortAddresses: "127.0.0.1",
        connectTimeoutMs: 1000,
      }),
      createLogger("kube-proxy", (l) => logs.push(l)),
    );
  });
  afterAll(async () => {
    keepAlive.destroy();
    await proxy?.close();
    for (const b of backends) {
      b.server.closeAllConnections();
      b.server.close();
    }
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("spreads requests evenly over the ready endpoints, with and without keep-alive, and answers 503 when none is ready", async () => {
    const svc = await service("web", { ports: [{ port: 80, targetPort: backends[0]!.port }] });
    const ip = svc.spec!.clusterIp;
    expect(ip).toMatch(/^127\.77\.0\.\d+$/);
    await eventually("the service answering 503 before it has endpoints", async () => {
      const r = await request(`http://${ip}/`);
      expect(r).toEqual({ status: 503, body: 'no endpoints available for service "default/web"\n' });
    });
    await setEndpoints("web", backends);
    await eventually("three endpoints", async () => expect((await request(`http://${ip}/`)).status).toBe(200));
    for (const b of backends) b.hits = 0;
    for (let i = 0; i < 150; i++) expect((await request(`http://${ip}/x?i=${i}`)).body).toMatch(/^web-\d GET \/x\?i=\d+ $/);
    for (let i = 0; i < 150; i++)
      expect((await request(`http://${ip}/`, { agent: keepAlive, method: "POST", body: `n${i}` })).body).toMatch(
        new RegExp(`^web-\\d POST / n${i}$`),
      );
    for (const b of backends) expect(b.hits).toBe(100);

    await setEndpoints("web", [], backends);
    await eventually("no ready endpoint", async () => expect((await request(`http://${ip}/`)).status).toBe(503));
  });

  it("carries a streamed (chunked) request body and a pipelined pair of requests", async () => {
    const svc = await service("stream", { ports: [{ port: 80, targetPort: backends[0]!.port }] });
    const ip = svc.spec!.clusterIp;
    await setEndpoints("stream", backends);
    await eventually("endpoints", async () => expect((await request(`http://${ip}/`)).status).toBe(200));
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`http://${ip}/up`, { method: "POST", agent: false, headers: { "transfer-encoding": "chunked" } }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.write("part-1,");
      setTimeout(() => req.end("part-2"), 100);
    });
    expect(chunked.status).toBe(200);
    expect(chunked.body).toMatch(/^web-\d POST \/up part-1,part-2$/);
    // Two requests in one write: answered in order, each by some backend.
    const raw = await new Promise<string>((resolve, reject) => {
      const s = net.connect(80, ip, () =>
        s.write(`GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      );
      let got = "";
      s.on("data", (d) => (got += d));
      s.on("end", () => resolve(got));
      s.on("error", reject);
    });
    expect(raw.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(raw).toMatch(/web-\d GET \/a [\s\S]*web-\d GET \/b /);
  });

  it("stops sending to an endpoint within a second of it going not ready, and lets its open request finish", async () => {
    const svc = await service("drain", { ports: [{ port: 80, targetPort: backends[0]!.port }] });
    const url = `http://${svc.spec!.clusterIp}/`;
    await setEndpoints("drain", backends);
    await eventually("endpoints", async () => expect((await request(url)).status).toBe(200));
    const [slow, ...rest] = backends;
    for (const b of backends) b.hits = 0;
    // Round robin from wherever it stands: three requests reach each backend once.
    slow!.delayMs = 800;
    const inFlight = Promise.all([request(url), request(url), request(url)]);
    await eventually("the slow backend busy", async () => expect(slow!.hits).toBe(1));
    const changed = Date.now();
    await setEndpoints("drain", rest!, [slow!]);
    const answers = await inFlight;
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.filter((a) => a.body.startsWith("web-1 "))).toHaveLength(1);
    await eventually("web-1 out of rotation", async () => {
      slow!.hits = 0;
      for (let i = 0; i < 6; i++) await request(url);
      expect(slow!.hits).toBe(0);
    });
    expect(Date.now() - changed).toBeLessThan(5_000);
    slow!.delayMs = 0;
  });

  it("tries another endpoint when one refuses connections, and counts the failure", async () => {
    const svc = await service("retry", { ports: [{ port: 80, targetPort: backends[0]!.port }] });
    const url = `http://${svc.spec!.clusterIp}/`;
    const dead = { ...backends[0]!, name: "gone", ip: "127.0.1.99" };
    await setEndpoints("retry", [dead, backends[1]!]);
    await eventually("endpoints", async () => expect((await request(url)).status).toBe(200));
    for (let i = 0; i < 20; i++) expect((await request(url, { method: "PUT", body: "x" })).body).toBe("web-2 PUT / x");
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /kubeproxy_upstream_errors_total\{service="default\/retry:",backend="gone@127\.0\.1\.99:\d+",reason="ECONNREFUSED"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      /kubeproxy_http_requests_total\{service="default\/retry:",backend="web-2@127\.0\.1\.2:\d+",code="200"[^}]*\} 2\d/,
    );
  });

  it("passes a non-HTTP port through at TCP level, and serves a NodePort on the node's address", async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.1.5", () => r()));
    const echoPort = (echo.address() as net.AddressInfo).port;
    try {
      const svc = await service("raw", { type: "NodePort", ports: [{ name: "redis", port: 6379, targetPort: echoPort }] });
      const nodePort = svc.spec!.ports[0]!.nodePort;
      expect(nodePort).toBeGreaterThanOrEqual(nodePortBase);
      await setEndpoints("raw", [{ ...backends[0]!, name: "echo", ip: "127.0.1.5", port: echoPort }], [], "redis");
      const roundTrip = (host: string, port: number) =>
        new Promise<string>((resolve, reject) => {
          const s = net.connect(port, host, () => s.end("PING\r\n"));
          let got = "";
          s.on("data", (d) => (got += d));
          s.on("end", () => resolve(got));
          s.on("error", reject);
        });
      await eventually("TCP through the ClusterIP", async () => expect(await roundTrip(svc.spec!.clusterIp, 6379)).toBe("PING\r\n"));
      await eventually("TCP through the NodePort", async () => expect(await roundTrip("127.0.0.1", nodePort)).toBe("PING\r\n"));
    } finally {
      echo.close();
    }
  });

  it("closes a deleted service's listener", async () => {
    const svc = await service("gone", { ports: [{ port: 80, targetPort: backends[0]!.port }] });
    const url = `http://${svc.spec!.clusterIp}/`;
    await setEndpoints("gone", backends);
    await eventually("serving", async () => expect((await request(url)).status).toBe(200));
    await client.delete("services", NS, "gone");
    await eventually("refused", async () => expect(request(url)).rejects.toThrow(/ECONNREFUSED/));
  });
});
