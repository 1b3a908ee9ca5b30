import dgram from "node:dgram";
import * as packet from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeObject } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { defaultDnsConfig, startDns, type RunningDns } from "@kubelab/dns";
import { createLogger } from "@kubelab/service-kit";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("cluster DNS over real Services", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let dns: RunningDns;

  const ask = (name: string, type: packet.RecordType = "A") =>
    new Promise<packet.DecodedPacket>((resolve, reject) => {
      const s = dgram.createSocket("udp4");
      const timer = setTimeout(() => {
        s.close();
        reject(new Error("no answer"));
      }, 2000);
      s.on("message", (m) => {
        clearTimeout(timer);
        s.close();
        resolve(packet.decode(m));
      });
      s.send(packet.encode({ type: "query", id: 7, flags: packet.RECURSION_DESIRED, questions: [{ type, name }] }), dns.port, "127.0.0.1");
    });
  const rcode = (p: packet.DecodedPacket) => (p as unknown as { rcode: string }).rcode;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    dns = await startDns(
      defaultDnsConfig({ server: `127.0.0.1:${server.port}`, port: 0, metricsPort: 0, bindAddress: "127.0.0.1" }),
      createLogger("dns", () => {}),
    );
    await client.create(
      decodeObject({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "default" },
        spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
      }).obj,
    );
    await client.create(
      decodeObject({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "db", namespace: "default" },
        spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] },
      }).obj,
    );
    await client.create(
      decodeObject({
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: "db", namespace: "default" },
        subsets: [
          {
            addresses: [
              { ip: "10.1.0.7", hostname: "db-0" },
              { ip: "10.1.0.8", hostname: "db-1" },
            ],
            notReadyAddresses: [{ ip: "10.1.0.9" }],
            ports: [{ port: 5432 }],
          },
        ],
      }).obj,
    );
  });
  afterAll(async () => {
    await dns?.close();
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("answers a Service's ClusterIP, a headless Service's ready pods, one pod by hostname, and SRV for a named port", async () => {
    const web = await client.get<{ spec?: { clusterIp: string } } & never>("services", "default", "web");
    const a = await eventually(async () => {
      const r = await ask("web.default.svc.cluster.local");
      if (r.answers?.length !== 1) throw new Error("not yet");
      return r;
    });
    expect(a.answers![0]).toMatchObject({
      type: "A",
      name: "web.default.svc.cluster.local",
      data: (web as { spec: { clusterIp: string } }).spec.clusterIp,
    });
    expect(a.flag_aa).toBe(true);
    const headless = await eventually(async () => {
      const r = await ask("db.default.svc.cluster.local");
      if (r.answers?.length !== 2) throw new Error("not yet");
      return r;
    });
    expect(headless.answers!.map((x) => x.data).sort()).toEqual(["10.1.0.7", "10.1.0.8"]);
    expect((await ask("db-1.db.default.svc.cluster.local")).answers!.map((x) => x.data)).toEqual(["10.1.0.8"]);
    const srv = await ask("_http._tcp.web.default.svc.cluster.local", "SRV");
    expect(srv.answers![0]).toMatchObject({ type: "SRV", data: { port: 80, target: "web.default.svc.cluster.local" } });
  });

  it("answers NXDOMAIN for unknown cluster names and REFUSED outside the cluster without an upstream", async () => {
    const nx = await ask("nope.default.svc.cluster.local");
    expect(rcode(nx)).toBe("NXDOMAIN");
    expect(nx.answers).toEqual([]);
    expect(rcode(await ask("web.elsewhere.svc.cluster.local"))).toBe("NXDOMAIN");
    expect(rcode(await ask("example.com"))).toBe("REFUSED");
  });
});
