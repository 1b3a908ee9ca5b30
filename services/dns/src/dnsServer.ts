import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import type { Endpoints, Namespace, Service } from "@kubelab/api";
import { ApiClient, InformerFactory } from "@kubelab/client";
import { startMetricsServer, type Logger } from "@kubelab/service-kit";
import { Counter } from "prom-client";
import type { DnsConfig } from "./config.js";
import { resolve, type Lookup } from "./records.js";

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface RunningDns {
  port: number;
  metricsPort: number;
  close(): Promise<void>;
}

/** Cluster DNS: answers from Services and Endpoints (informers), over UDP and TCP. */
export async function startDns(cfg: DnsConfig, log: Logger): Promise<RunningDns> {
  const client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
  const informers = new InformerFactory(client);
  const services = informers.for<Service>("services");
  const endpoints = informers.for<Endpoints>("endpoints");
  const namespaces = informers.for<Namespace>("namespaces");
  const metrics = await startMetricsServer(cfg.metricsPort, { component: "dns", ready: () => services.hasSynced && endpoints.hasSynced });
  const queries = new Counter({
    name: "dns_requests_total",
    help: "DNS questions by type and answer code",
    labelNames: ["type", "rcode"],
    registers: [metrics.registry],
  });
  await informers.start();

  const lookup: Lookup = {
    service: (ns, name) => services.get(`${ns}/${name}`),
    endpoints: (ns, name) => endpoints.get(`${ns}/${name}`),
    namespaceExists: (ns) => namespaces.get(ns) !== undefined,
  };

  async function answer(query: packet.DecodedPacket): Promise<Buffer> {
    const q = query.questions?.[0];
    const reply = (rcode: keyof typeof RCODE, answers: packet.Answer[] = []) => {
      queries.inc({ type: q?.type ?? "none", rcode });
      return packet.encode({
        type: "response",
        id: query.id,
        flags: packet.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & packet.RECURSION_DESIRED) | RCODE[rcode],
        questions: query.questions,
        answers,
      });
    };
    if (!q) return reply("REFUSED");
    const res = resolve(q.name, q.type, cfg.clusterDomain, lookup);
    if (res) return reply(res.rcode, res.answers);
    if (!cfg.upstream) return reply("REFUSED");
    try {
      return await forward(query, cfg.upstream);
    } catch {
      return reply("SERVFAIL");
    }
  }

  const udp = dgram.createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(msg);
    } catch {
      return; // not DNS: dropped, as a resolver does
    }
    void answer(query).then((b) => udp.send(b, rinfo.port, rinfo.address));
  });
  await new Promise<void>((r) => udp.bind(cfg.port, cfg.bindAddress, () => r()));

  // DNS over TCP: each message with a two-byte length in front.
  const tcp = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        try {
          void answer(packet.decode(msg)).then((b) => {
            const head = Buffer.alloc(2);
            head.writeUInt16BE(b.length);
            sock.write(Buffer.concat([head, b]));
          });
        } catch {
          sock.destroy();
        }
      }
    });
    sock.on("error", () => sock.destroy());
  });
  await new Promise<void>((r) => tcp.listen(udp.address().port, cfg.bindAddress, () => r()));
  const port = udp.address().port;
  log.info("cluster DNS serving", { port, domain: cfg.clusterDomain, upstream: cfg.upstream || "none (REFUSED)" });

  return {
    port,
    metricsPort: metrics.port,
    close: async () => {
      udp.close();
      await new Promise((r) => tcp.close(() => r(undefined)));
      informers.stop();
      await metrics.close();
      client.close();
    },
  };
}

/** Asks the upstream resolver over UDP, with a two-second bound. */
function forward(query: packet.DecodedPacket, upstream: string): Promise<Buffer> {
  const [host, port] = upstream.includes(":") ? upstream.split(":") : [upstream, "53"];
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error("upstream timed out"));
    }, 2000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(packet.encode(query), Number(port), host!);
  });
}
