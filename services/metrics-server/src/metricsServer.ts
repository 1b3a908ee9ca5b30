import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Counter, Histogram, type Registry } from "prom-client";
import {
  APIResourceListSchema,
  ApiError,
  ApiService,
  FieldSelectorError,
  ListResponseSchema,
  NodeMetricsSchema,
  PodMetricsSchema,
  SelectorParseError,
  apiResources,
  cpuUsageQuantity,
  kindForResource,
  memoryUsageQuantity,
  objectMatcher,
  packObject,
  type GetRequest,
  type KindDefinition,
  type KubeObject,
  type ListRequest,
  type Node,
  type NodeMetrics,
  type Pod,
  type PodMetrics,
} from "@kubelab/api";
import { ApiClient, Informer, grpcServiceDefinition, objectKey } from "@kubelab/client";
import {
  createLogger,
  parseResourceMetrics,
  startMetricsServer as startHttp,
  type Logger,
  type MetricsServer as HttpServer,
} from "@kubelab/service-kit";
import type { MetricsServerConfig } from "./config.js";
import { MetricsStorage } from "./storage.js";

export interface RunningMetricsServer {
  port: number;
  metricsPort: number;
  /** Scrapes every kubelet once now (tests call it instead of waiting for the interval). */
  scrapeOnce(): Promise<void>;
  close(): Promise<void>;
}

export async function startMetricsServer(
  cfg: MetricsServerConfig,
  log: Logger = createLogger("metrics-server"),
): Promise<RunningMetricsServer> {
  let server: MetricsServer | undefined;
  const http = await startHttp(cfg.metricsPort, { component: "metrics-server", ready: () => server?.ready ?? false });
  server = new MetricsServer(cfg, log, http);
  await server.start();
  return server;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
/** A duration as Go's time.Duration prints one ("5.012s"), as metrics-server's window reads. */
const durationString = (ms: number) => `${Number((ms / 1000).toFixed(3))}s`;

/**
 * kubelab's metrics-server, as Kubernetes' (kubernetes-sigs/metrics-server): every
 * --metric-resolution it scrapes each node's kubelet (/metrics/resource, at the node's InternalIP
 * and --kubelet-port), keeps the last two readings of every node and container (MetricsStorage),
 * and serves metrics.k8s.io's NodeMetrics and PodMetrics over the same ApiService the API server
 * speaks (Get, List), which the API server proxies to as Kubernetes' aggregation layer does.
 * Pods and nodes come from informers, so a list selects on their labels, and a pod the API no
 * longer has is not reported.
 */
class MetricsServer implements RunningMetricsServer {
  readonly port: number = 0;
  readonly metricsPort: number;
  ready = false;
  private readonly client: ApiClient;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly storage = new MetricsStorage();
  private readonly grpcServer = new grpc.Server();
  private readonly metrics: ScrapeMetrics;
  private timer: NodeJS.Timeout | undefined;
  private scraping: Promise<void> | undefined;

  constructor(
    private readonly cfg: MetricsServerConfig,
    private readonly log: Logger,
    private readonly http: HttpServer,
  ) {
    this.metricsPort = http.port;
    this.metrics = scrapeMetrics(http.registry);
    this.client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
    this.nodes = new Informer<Node>(this.client, "nodes");
    this.nodes.addEventHandler({ onDelete: (n) => this.storage.forgetNode(n.metadata?.name ?? "") });
    this.pods = new Informer<Pod>(this.client, "pods");
  }

  async start(): Promise<void> {
    this.grpcServer.addService(grpcServiceDefinition(ApiService, { server: true }), this.handlers());
    (this as { port: number }).port = await new Promise<number>((resolve, reject) =>
      this.grpcServer.bindAsync(`${this.cfg.bindAddress}:${this.cfg.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    await Promise.all([this.nodes.start(), this.pods.start()]);
    this.timer = setInterval(() => void this.scrapeOnce(), this.cfg.metricResolutionSeconds * 1000);
    void this.scrapeOnce();
    this.log.info("metrics-server serving", { port: this.port, resolutionSeconds: this.cfg.metricResolutionSeconds });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.scraping;
    this.nodes.stop();
    this.pods.stop();
    this.client.close();
    await new Promise<void>((r) => this.grpcServer.tryShutdown(() => r()));
    await this.http.close();
  }

  /** One round: every node's kubelet at once; a round still running when the next is due is not doubled. */
  scrapeOnce(): Promise<void> {
    this.scraping ??= Promise.all(this.nodes.list().map((n) => this.scrapeNode(n))).then(() => {
      this.ready = true;
      this.scraping = undefined;
    });
    return this.scraping;
  }

  private async scrapeNode(node: Node): Promise<void> {
    const name = node.metadata?.name ?? "";
    const ip = node.status?.addresses.find((a) => a.type === "InternalIP")?.address;
    if (!ip) return;
    const url = `http://${ip.includes(":") ? `[${ip}]` : ip}:${this.cfg.kubeletPort}/metrics/resource`;
    const end = this.metrics.duration.startTimer({ node: name });
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.cfg.kubeletRequestTimeoutSeconds * 1000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const snapshot = parseResourceMetrics(await res.text(), Date.now());
      this.storage.store(name, snapshot);
      this.metrics.requests.inc({ success: "true" });
    } catch (e) {
      this.metrics.requests.inc({ success: "false" });
      this.log.warn("failed to scrape node", { node: name, url, error: (e as Error).message });
    } finally {
      end();
    }
  }

  private nodeMetrics(node: Node): NodeMetrics | undefined {
    const name = node.metadata?.name ?? "";
    const u = this.storage.nodeUsage(name);
    if (!u) return undefined;
    return create(NodeMetricsSchema, {
      apiVersion: "metrics.k8s.io/v1beta1",
      kind: "NodeMetrics",
      metadata: { name, labels: node.metadata?.labels, creationTimestamp: rfc3339(Date.now()) },
      timestamp: rfc3339(u.timestampMs),
      window: durationString(u.windowMs),
      usage: { cpu: cpuUsageQuantity(u.cpuCores), memory: memoryUsageQuantity(u.memoryBytes) },
    });
  }

  private podMetrics(pod: Pod): PodMetrics | undefined {
    const { namespace = "", name = "" } = pod.metadata ?? {};
    const u = this.storage.podUsage(namespace, name);
    if (!u) return undefined;
    return create(PodMetricsSchema, {
      apiVersion: "metrics.k8s.io/v1beta1",
      kind: "PodMetrics",
      metadata: { name, namespace, labels: pod.metadata?.labels, creationTimestamp: rfc3339(Date.now()) },
      timestamp: rfc3339(u.timestampMs),
      window: durationString(u.windowMs),
      containers: u.containers.map((c) => ({
        name: c.name,
        usage: { cpu: cpuUsageQuantity(c.cpuCores), memory: memoryUsageQuantity(c.memoryBytes) },
      })),
    });
  }

  /** The metrics of every object of `def`'s source kind the request selects; objects with no usage yet are left out. */
  private list(def: KindDefinition, req: ListRequest): KubeObject[] {
    let match: (obj: KubeObject) => boolean;
    try {
      match = objectMatcher(def, req.namespace, req.labelSelector, req.fieldSelector);
    } catch (e) {
      if (e instanceof SelectorParseError || e instanceof FieldSelectorError) throw badRequest(e.message);
      throw e;
    }
    const sources: KubeObject[] = def.kind === "NodeMetrics" ? this.nodes.list() : this.pods.list();
    const out: KubeObject[] = [];
    for (const src of sources.filter(match)) {
      const m = def.kind === "NodeMetrics" ? this.nodeMetrics(src as Node) : this.podMetrics(src as Pod);
      if (m) out.push(m);
    }
    return out.sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
  }

  private get(def: KindDefinition, req: GetRequest): KubeObject {
    const namespaced = def.kind === "PodMetrics";
    const key = namespaced ? `${req.namespace || "default"}/${req.name}` : req.name;
    const m = namespaced
      ? this.pods.get(key) && this.podMetrics(this.pods.get(key)!)
      : this.nodes.get(key) && this.nodeMetrics(this.nodes.get(key)!);
    if (!m) throw new ApiError(grpc.status.NOT_FOUND, `${def.kind.toLowerCase()}.metrics.k8s.io "${key}" not found`, "NotFound");
    return m;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    const metricsKind = (resource: string): KindDefinition => {
      const def = kindForResource(resource);
      if (!def?.aggregated)
        throw new ApiError(grpc.status.NOT_FOUND, `the server could not find the requested resource (${resource})`, "NotFound");
      return def;
    };
    const unary =
      <Req>(fn: (req: Req) => unknown): grpc.handleUnaryCall<Req, unknown> =>
      (call, callback) => {
        try {
          callback(null, fn(call.request));
        } catch (e) {
          const err =
            e instanceof ApiError
              ? e
              : new ApiError(grpc.status.INTERNAL, `Internal error occurred: ${(e as Error).message}`, "InternalError");
          callback({ code: err.code, details: err.message, metadata: err.toMetadata() });
        }
      };
    return {
      get: unary<GetRequest>((req) => packObject(this.get(metricsKind(req.resource), req))),
      list: unary<ListRequest>((req) =>
        create(ListResponseSchema, { resourceVersion: "", items: this.list(metricsKind(req.resource), req).map(packObject) }),
      ),
      getAPIResources: unary(() =>
        create(APIResourceListSchema, { resources: apiResources().filter((r) => r.group === "metrics.k8s.io") }),
      ),
    };
  }
}

const badRequest = (message: string) => new ApiError(grpc.status.INVALID_ARGUMENT, message, "BadRequest");

interface ScrapeMetrics {
  duration: Histogram<"node">;
  requests: Counter<"success">;
}

function scrapeMetrics(registry: Registry): ScrapeMetrics {
  return {
    duration: new Histogram({
      name: "metrics_server_kubelet_request_duration_seconds",
      help: "Duration of one scrape of a kubelet's /metrics/resource",
      labelNames: ["node"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    requests: new Counter({
      name: "metrics_server_kubelet_request_total",
      help: "Scrapes of kubelets, by outcome",
      labelNames: ["success"],
      registers: [registry],
    }),
  };
}
