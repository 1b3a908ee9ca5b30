// What users feel during a scenario: an API writer (creates at a steady rate, each acknowledged
// write remembered with its resourceVersion), a watcher of what it writes, and HTTP clients of
// a Deployment behind a Service, from the host (its NodePort) and from a pod (its name).
import http from "node:http";
import { create } from "@bufbuild/protobuf";
import {
  ConfigMapSchema,
  decodeObject,
  isAlreadyExists,
  isGone,
  isNotFound,
  isPodReady,
  NamespaceSchema,
  type ConfigMap,
  type Deployment,
  type Pod,
  type Service,
} from "@kubelab/api";
import { ApiError, type ApiClient, sleep } from "@kubelab/client";
import type { ProbeSettings } from "./schedule.js";

export const PROBE_NAMESPACE = "chaos-probe";
export const PROBE_DEPLOYMENT = "chaos-web";
const CALLER_POD = "chaos-caller";
/** Writes in flight at most: a server that stops answering holds no more than this many. */
const MAX_IN_FLIGHT = 32;
/** Each HTTP request's own deadline. */
export const HTTP_TIMEOUT_MS = 2_000;
const HTTP_PAUSE_MS = 20;

export interface WriteRecord {
  name: string;
  startMs: number;
  endMs: number;
  ok: boolean;
  /** The resourceVersion the API acknowledged. */
  resourceVersion?: string;
  /** gRPC code name and message, for a write that failed. */
  error?: string;
}

export type WatchRecord =
  | { kind: "event"; atMs: number; type: string; name: string; resourceVersion: string }
  /** A list (at the start, or after OUT_OF_RANGE): every name it held, at its resourceVersion. */
  | { kind: "relist"; atMs: number; resourceVersion: string; names: string[] }
  /** The watch ended with an error; it resumes from `resourceVersion`. */
  | { kind: "resume"; atMs: number; resourceVersion: string; error: string };

export interface HttpRecord {
  from: "host" | "pod";
  startMs: number;
  latencyMs: number;
  ok: boolean;
  /** Status code, or the error. */
  detail: string;
}

const errorText = (e: unknown) => (e instanceof ApiError ? `${e.code} ${e.message}` : (e as Error).message);

/** Creates ConfigMaps at `perSecond`, with at most MAX_IN_FLIGHT unanswered. */
export class ApiWriter {
  readonly records: WriteRecord[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly client: ApiClient,
    private readonly perSecond: number,
    private readonly prefix: string,
  ) {}

  start(): void {
    this.running ??= this.run();
  }

  private async run(): Promise<void> {
    const periodMs = 1000 / this.perSecond;
    const t0 = Date.now();
    for (let n = 0; !this.stopped; n++) {
      const wait = t0 + n * periodMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) break;
      if (this.inFlight.size >= MAX_IN_FLIGHT) continue;
      const p = this.write(`${this.prefix}-${n}`).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async write(name: string): Promise<void> {
    const startMs = Date.now();
    try {
      const cm = await this.client.create(
        create(ConfigMapSchema, { metadata: { name, namespace: PROBE_NAMESPACE }, data: { writer: this.prefix } }),
      );
      this.records.push({ name, startMs, endMs: Date.now(), ok: true, resourceVersion: cm.metadata?.resourceVersion });
    } catch (e) {
      this.records.push({ name, startMs, endMs: Date.now(), ok: false, error: errorText(e) });
    }
  }

  /** Stops writing; resolves once every write in flight has its answer. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await Promise.all([...this.inFlight]);
  }

  /** The highest acknowledged resourceVersion. */
  lastAcknowledged(): bigint {
    let max = 0n;
    for (const r of this.records) if (r.ok && r.resourceVersion) max = BigInt(r.resourceVersion) > max ? BigInt(r.resourceVersion) : max;
    return max;
  }
}

/**
 * Watches the probe's namespace as an informer does: list, watch from the list's version,
 * resume from the last version seen when the stream breaks (on whichever API server answers),
 * relist only after OUT_OF_RANGE. Every event is recorded, for the exactly-once check.
 */
export class ProbeWatcher {
  readonly records: WatchRecord[] = [];
  private resourceVersion = "";
  private stopped = false;
  private stream: { stop(): void } | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly client: ApiClient) {}

  /** Resolves once the first list is done (the watch goes on in the background). */
  async start(): Promise<void> {
    await this.list();
    this.running = this.run();
  }

  private async list(): Promise<void> {
    const res = await this.client.listAll<ConfigMap>("configmaps", { namespace: PROBE_NAMESPACE, limit: 500 });
    this.resourceVersion = res.resourceVersion;
    this.records.push({
      kind: "relist",
      atMs: Date.now(),
      resourceVersion: res.resourceVersion,
      names: res.items.map((c) => c.metadata!.name),
    });
  }

  private async run(): Promise<void> {
    let needList = false;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        const stream = this.client.watch<ConfigMap>("configmaps", {
          namespace: PROBE_NAMESPACE,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
        });
        this.stream = stream;
        if (this.stopped) stream.stop();
        for await (const ev of stream) {
          if (ev.type !== "BOOKMARK")
            this.records.push({
              kind: "event",
              atMs: Date.now(),
              type: ev.type,
              name: ev.object.metadata!.name,
              resourceVersion: ev.resourceVersion,
            });
          if (ev.resourceVersion) this.resourceVersion = ev.resourceVersion;
        }
        if (!this.stopped)
          this.records.push({ kind: "resume", atMs: Date.now(), resourceVersion: this.resourceVersion, error: "stream ended" });
      } catch (e) {
        if (this.stopped) return;
        this.records.push({ kind: "resume", atMs: Date.now(), resourceVersion: this.resourceVersion, error: errorText(e) });
        if (isGone(e)) needList = true;
        else await sleep(100);
      }
    }
  }

  get seenResourceVersion(): bigint {
    return this.resourceVersion ? BigInt(this.resourceVersion) : 0n;
  }

  /** Waits (at most `timeoutMs`) until the watch has passed `resourceVersion`, then stops it. */
  async stopAfter(resourceVersion: bigint, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.seenResourceVersion < resourceVersion && Date.now() < deadline) await sleep(100);
    this.stopped = true;
    this.stream?.stop();
    await this.running;
  }
}

/** One GET with its own deadline; never throws. */
function httpGet(url: string): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (!done) {
        done = true;
        resolve({ ok, detail });
      }
    };
    const req = http.get(url, { agent: false, timeout: HTTP_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on("end", () => finish(res.statusCode === 200, String(res.statusCode)));
      res.on("error", (e) => finish(false, e.message));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => finish(false, (e as NodeJS.ErrnoException).code ?? e.message));
  });
}

/** Requests one after another, a short pause between, each on a new connection (so each is balanced anew). */
export class HttpProbe {
  readonly records: HttpRecord[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly url: string) {}

  start(): void {
    this.running ??= (async () => {
      while (!this.stopped) {
        const startMs = Date.now();
        const r = await httpGet(this.url);
        this.records.push({ from: "host", startMs, latencyMs: Date.now() - startMs, ok: r.ok, detail: r.detail });
        await sleep(HTTP_PAUSE_MS);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

// The in-cluster caller: the same loop as HttpProbe, in a pod, printing one line per request
// (start ms, latency ms, 1/0, status or error), read back from its log at the end.
const CALLER_SCRIPT = `
const http = require("node:http");
const url = process.env.TARGET_URL;
function once() {
  const t = Date.now();
  let done = false;
  const out = (ok, info) => {
    if (done) return;
    done = true;
    process.stdout.write(t + " " + (Date.now() - t) + " " + ok + " " + info + "\\n");
    setTimeout(once, ${HTTP_PAUSE_MS});
  };
  const req = http.get(url, { agent: false, timeout: ${HTTP_TIMEOUT_MS} }, (res) => {
    res.resume();
    res.on("end", () => out(res.statusCode === 200 ? 1 : 0, res.statusCode));
    res.on("error", (e) => out(0, e.code || "error"));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => out(0, e.code || "error"));
}
once();
`;

/** The caller's log lines as records (lines cut short by the end of the log are skipped). */
export function parseCallerLog(log: string): HttpRecord[] {
  const out: HttpRecord[] = [];
  for (const line of log.split("\n")) {
    const m = /^(\d+) (\d+) ([01]) (\S+)$/.exec(line.trim());
    if (m) out.push({ from: "pod", startMs: Number(m[1]), latencyMs: Number(m[2]), ok: m[3] === "1", detail: m[4]! });
  }
  return out;
}

const workloadManifests = (replicas: number, callerNode: string) => [
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: PROBE_DEPLOYMENT, namespace: PROBE_NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: PROBE_DEPLOYMENT } },
      // As a production Deployment that must not drop requests is written: no pod leaves before
      // its replacement is Ready, a failing pod leaves the endpoints at once, and a terminating
      // one keeps serving until every kube-proxy has seen the endpoints change.
      strategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: PROBE_DEPLOYMENT } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: "web",
              image: "kubelab/echo:dev",
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1, failureThreshold: 1 },
              lifecycle: { preStop: { exec: { command: ["sleep", "2"] } } },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: PROBE_DEPLOYMENT, namespace: PROBE_NAMESPACE },
    spec: { type: "NodePort", selector: { app: PROBE_DEPLOYMENT }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: CALLER_POD, namespace: PROBE_NAMESPACE, labels: { app: CALLER_POD } },
    spec: {
      nodeSelector: { "kubernetes.io/hostname": callerNode },
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "caller",
          image: "kubelab/echo:dev",
          command: ["node", "-e", CALLER_SCRIPT],
          env: [{ name: "TARGET_URL", value: `http://${PROBE_DEPLOYMENT}/` }],
        },
      ],
    },
  },
];

/**
 * The probe's namespace and workload: a Deployment behind a NodePort Service, and (with http) a
 * pod calling the Service by name. Made at the start of a run, removed at its end.
 */
export class ProbeWorkload {
  nodePort = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly settings: ProbeSettings,
  ) {}

  async setUp(timeoutMs = 180_000): Promise<void> {
    await this.waitNamespaceGone(timeoutMs);
    await this.client.create(create(NamespaceSchema, { metadata: { name: PROBE_NAMESPACE } })).catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });
    if (!this.settings.http) return;
    for (const m of workloadManifests(this.settings.replicas, this.settings.callerNode)) {
      await this.client.create(decodeObject(m).obj).catch((e) => {
        if (!isAlreadyExists(e)) throw e;
      });
    }
    const svc = await this.client.get<Service>("services", PROBE_NAMESPACE, PROBE_DEPLOYMENT);
    this.nodePort = svc.spec?.ports[0]?.nodePort ?? 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pods = (await this.client.list<Pod>("pods", { namespace: PROBE_NAMESPACE })).items;
      const ready = pods.filter((p) => !p.metadata?.deletionTimestamp && isPodReady(p));
      const web = ready.filter((p) => p.metadata?.labels.app === PROBE_DEPLOYMENT).length;
      const caller = ready.some((p) => p.metadata?.name === CALLER_POD);
      const d = await this.client.get<Deployment>("deployments", PROBE_NAMESPACE, PROBE_DEPLOYMENT);
      if (web === this.settings.replicas && caller && d.status?.readyReplicas === this.settings.replicas) return;
      if (Date.now() > deadline)
        throw new Error(
          `the probe's workload is not Ready after ${timeoutMs / 1000}s (${web}/${this.settings.replicas} web pods, caller ${caller ? "Ready" : "not Ready"})`,
        );
      await sleep(500);
    }
  }

  /** The in-cluster caller's requests, from its log; empty (with the reason) when it cannot be read. */
  async callerRecords(): Promise<{ records: HttpRecord[]; error?: string }> {
    if (!this.settings.http) return { records: [] };
    try {
      const chunks: Uint8Array[] = [];
      for await (const c of this.client.logs({ namespace: PROBE_NAMESPACE, name: CALLER_POD })) chunks.push(c);
      return { records: parseCallerLog(Buffer.concat(chunks).toString("utf8")) };
    } catch (e) {
      return { records: [], error: errorText(e) };
    }
  }

  /** Deletes the in-cluster caller at once; setUp makes a new one. */
  async stopCaller(): Promise<void> {
    if (!this.settings.http) return;
    await this.client.delete("pods", PROBE_NAMESPACE, CALLER_POD, { gracePeriodSeconds: 0 }).catch(() => undefined);
  }

  /** Deletes the namespace (its objects go with it, in the background). */
  async tearDown(): Promise<void> {
    await this.client.delete("namespaces", "", PROBE_NAMESPACE).catch(() => undefined);
  }

  /** A namespace left Terminating by an earlier run must be gone before it is made again. */
  private async waitNamespaceGone(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const ns = await this.client.get("namespaces", "", PROBE_NAMESPACE);
        if (!ns.metadata?.deletionTimestamp) return;
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      if (Date.now() > deadline) throw new Error(`the namespace ${PROBE_NAMESPACE} of an earlier run is still Terminating`);
      await sleep(500);
    }
  }
}
