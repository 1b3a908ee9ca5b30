import { decodeObject, type Node, type Pod, type Service } from "@kubelab/api";
import { BenchLab } from "./benchLab.js";
import { cpuSeconds } from "./machine.js";
import { deploymentOf } from "./manifests.js";
import { record, type Row } from "./results.js";
import { exec } from "./benchLab.js";
import { median, percentile } from "./stats.js";
import { wrk, type WrkResult } from "./wrk.js";

// A LoadBalancer Service of the composed lab against the same Service's NodePort on one node,
// from the host, in the same run: what the cloud-controller-manager's proxy adds. Then the time
// from a Service's create to its address answering.
const NS = "default";
const DURATION_S = 10;
const CONNECTIONS = 4;
const CREATES = 5;
const ROUNDS = 3;

const loadBalancer = (name: string): Service =>
  decodeObject({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS },
    spec: { type: "LoadBalancer", selector: { app: "echo" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  }).obj as Service;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a GET of http://ip/ answers 200 within a second. */
async function answers(ip: string): Promise<boolean> {
  return fetch(`http://${ip}/`, { signal: AbortSignal.timeout(1_000) }).then(
    (r) => r.status === 200,
    () => false,
  );
}

/** Milliseconds from the create call to the first 200 at the Service's address (status polled every 20 ms). */
async function timeToAnswer(lab: BenchLab, name: string): Promise<{ ms: number; ip: string }> {
  const t0 = performance.now();
  await lab.client.create(loadBalancer(name));
  for (;;) {
    const ip = (await lab.client.get<Service>("services", NS, name)).status?.loadBalancer?.ingress[0]?.ip;
    if (ip && (await answers(ip))) return { ms: performance.now() - t0, ip };
    if (performance.now() - t0 > 60_000) throw new Error(`${name} did not answer within 60 s`);
    await sleep(20);
  }
}

export default async function run(): Promise<void> {
  const lab = new BenchLab();
  const rows: Row[] = [];
  try {
    await lab.start();
    await lab.client.create(deploymentOf(NS, "echo", 3, [{ name: "echo", image: "kubelab/echo:dev", ports: [{ containerPort: 8080 }] }]));
    for (let i = 0; ; i++) {
      const pods = (await lab.client.list<Pod>("pods", { namespace: NS, labelSelector: "app=echo" })).items;
      if (pods.filter((p) => p.status?.conditions.some((c) => c.type === "Ready" && c.status === "True")).length === 3) break;
      if (i > 240) throw new Error("echo pods not ready");
      await sleep(500);
    }

    const created: number[] = [];
    let ip = "";
    for (let i = 0; i < CREATES; i++) {
      const r = await timeToAnswer(lab, `lb-${i}`);
      created.push(r.ms);
      if (i === 0) ip = r.ip;
    }
    const svc = await lab.client.get<Service>("services", NS, "lb-0");
    const node1 = (await lab.client.get<Node>("nodes", "", "node-1")).status!.addresses.find((a) => a.type === "InternalIP")!.address;
    const viaLb = `http://${ip}:80/`;
    const viaNodePort = `http://${node1}:${svc.spec!.ports[0]!.nodePort}/`;
    for (const url of [viaLb, viaNodePort]) await wrk(url, CONNECTIONS, 2);
    // The copies' processes (both: the standby idles), for the load balancer's own CPU per request.
    const pids = await Promise.all(
      ["cloud-controller-manager-1", "cloud-controller-manager-2"].map(async (s) =>
        Number((await exec("docker", ["inspect", "--format", "{{.State.Pid}}", lab.container(s)])).stdout.trim()),
      ),
    );
    const ccmCpu = () => pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
    // Alternated, so drift of the shared machine falls on both alike; each figure is the median of the rounds.
    const lb: WrkResult[] = [];
    const np: WrkResult[] = [];
    let lbCpu = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const before = ccmCpu();
      lb.push(await wrk(viaLb, CONNECTIONS, DURATION_S));
      lbCpu += ccmCpu() - before;
      np.push(await wrk(viaNodePort, CONNECTIONS, DURATION_S));
    }
    const sum = (rs: WrkResult[], f: (r: WrkResult) => number) => median(rs.map(f));
    const lbRps = sum(lb, (r) => r.rps);
    const npRps = sum(np, (r) => r.rps);
    const lbP99 = sum(lb, (r) => r.p99);
    const npP99 = sum(np, (r) => r.p99);
    rows.push({ metric: `NodePort of node-1 directly: requests/s at ${CONNECTIONS} connections`, value: npRps.toFixed(0), target: "" });
    rows.push({
      metric: `LoadBalancer address (over the 3 nodes' NodePorts): requests/s at ${CONNECTIONS} connections`,
      value: lbRps.toFixed(0),
      target: "",
    });
    const ratio = lbRps / npRps;
    rows.push({ metric: "throughput LoadBalancer / NodePort", value: ratio.toFixed(2), target: "≥ 0.8", pass: ratio >= 0.8 });
    rows.push({
      metric: "p50 / p99: NodePort · LoadBalancer",
      value: `${sum(np, (r) => r.p50).toFixed(2)} / ${npP99.toFixed(2)} ms · ${sum(lb, (r) => r.p50).toFixed(2)} / ${lbP99.toFixed(2)} ms`,
      target: "",
    });
    const added = lbP99 - npP99;
    rows.push({ metric: "p99 added by the LoadBalancer", value: `${added.toFixed(2)} ms`, target: "≤ 1 ms", pass: added <= 1 });
    const lbRequests = lb.reduce((a, r) => a + r.requests, 0);
    rows.push({
      metric: "the load balancer's own CPU per request (cloud-controller-manager)",
      value: `${((lbCpu / lbRequests) * 1e6).toFixed(1)} µs`,
      target: "",
    });
    rows.push({
      metric: "p99 of each round: NodePort · LoadBalancer",
      value: `${np.map((r) => r.p99.toFixed(2)).join(", ")} · ${lb.map((r) => r.p99.toFixed(2)).join(", ")} ms`,
      target: "",
    });
    const errors = [...lb, ...np].reduce((a, r) => a + r.errors, 0);
    if (errors) rows.push({ metric: "errors", value: String(errors), target: "0", pass: false });
    const sorted = [...created].sort((a, b) => a - b);
    rows.push({
      metric: `Service created → its address answers (${CREATES} Services, one after another): median / max`,
      value: `${percentile(sorted, 50).toFixed(0)} / ${sorted.at(-1)!.toFixed(0)} ms`,
      target: "",
    });
    record("loadbalancer", rows, [
      `The composed lab (3 nodes, 3 echo pods, images/workloads/echo); wrk (1 thread, keep-alive) on the host, ${CONNECTIONS} connections, ${DURATION_S} s per run after a 2 s warm-up of each; LoadBalancer and NodePort runs alternate, three rounds, and each figure is the median of the rounds.`,
      "The NodePort is node-1's own address on the lab's network and the Service's NodePort (node-1's kube-proxy, balancing over all three pods); the LoadBalancer is the Service's address on the host's loopback, served by the cloud-controller-manager leader, which splices each connection to one of the three nodes' NodePorts (least connections).",
      "The p99 of a round is its slowest 1%: on a machine shared with other labs, stalls common to both paths (the same kube-proxies and pods) dominate it, so the rounds are listed and the added p99 is the difference of the medians; the load balancer's own CPU per request is the steadier measure of what it adds.",
      "Time to answer: from the create call to the first 200 at the address, the status polled every 20 ms: allocation, the finalizer, the listener, the status write and the watch that brings it.",
    ]);
  } finally {
    await lab.stop();
  }
}
