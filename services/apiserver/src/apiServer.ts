import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { create } from "@bufbuild/protobuf";
import { ApiService, NamespaceSchema, file_kubelab_apiserver_v1_api, allKinds, type Service } from "@kubelab/api";
import { ExponentialBackoff, grpcServiceDefinition, isAlreadyExists, retryWithBackoff } from "@kubelab/client";
import { ServiceAllocator } from "./registry/serviceAllocator.js";
import { createLogger, startMetricsServer, type Logger, type MetricsServer } from "@kubelab/service-kit";
import type { ApiServerConfig } from "./config.js";
import { apiMetrics } from "./metrics.js";
import { ObjectService } from "./registry/objectService.js";
import { AggregatedApis } from "./server/aggregatedApis.js";
import { apiHandlers } from "./server/apiHandlers.js";
import { startHttpApi } from "./http/httpApi.js";
import { KubeletProxy } from "./server/kubeletProxy.js";
import { addReflection } from "./server/reflection.js";
import { Compactor } from "./storage/compactor.js";
import { createEtcdClient } from "./storage/etcdClient.js";
import { ObjectStore } from "./storage/objectStore.js";
import { WatchCache } from "./storage/watchCache.js";

/** Namespaces every cluster has, as Kubernetes creates them at start. */
const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export interface RunningApiServer {
  port: number;
  /** Kubernetes' HTTP API, unless --http-port=-1. */
  httpPort?: number;
  metricsPort: number;
  cache: WatchCache;
  compactor: Compactor;
  store: ObjectStore;
  close(): Promise<void>;
}

export async function startApiServer(cfg: ApiServerConfig, log: Logger = createLogger("apiserver")): Promise<RunningApiServer> {
  const etcd = createEtcdClient({ servers: cfg.etcdServers, requestTimeoutMs: cfg.etcdRequestTimeoutSeconds * 1000 });
  // Events expire, as kube-apiserver's --event-ttl has them: etcd deletes them with their lease.
  const store = new ObjectStore(etcd, cfg.etcdRequestTimeoutSeconds * 1000, cfg.eventTtlSeconds > 0 ? { Event: cfg.eventTtlSeconds } : {});
  const cache = new WatchCache(store, etcd, log, {
    historySize: cfg.watchCacheSize,
    historyMaxBytes: cfg.watchCacheMaxBytes,
    historyWindowMs: cfg.watchCacheWindowSeconds * 1000,
    bookmarkIntervalMs: cfg.watchBookmarkIntervalSeconds * 1000,
  });
  const health = new HealthImplementation({ "": "NOT_SERVING", [ApiService.typeName]: "NOT_SERVING" });
  // Ready once the gRPC port is open and the watch cache is current (it reloads after a failed etcd watch).
  let serving = false;
  const metrics: MetricsServer = await startMetricsServer(cfg.metricsPort, { component: "apiserver", ready: () => serving && cache.ready });

  // etcd may still be electing a leader when the lab starts: keep trying, with back-off.
  await retryWithBackoff(() => cache.start(), {
    backoff: new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 2000 }),
    onRetry: (e) => log.warn("waiting for etcd", { servers: cfg.etcdServers.join(","), error: (e as Error).message }),
  });
  const services = new ServiceAllocator({ clusterIpRange: cfg.serviceClusterIpRange, nodePortRange: cfg.serviceNodePortRange }, () =>
    cache.list("services", "/registry/services/").map((e) => e.obj as Service),
  );
  const service = new ObjectService(store, cache, {
    listCacheWaitMs: 1000,
    allocators: { Service: services },
    defaultNotReadyTolerationSeconds: cfg.defaultNotReadyTolerationSeconds,
    defaultUnreachableTolerationSeconds: cfg.defaultUnreachableTolerationSeconds,
  });
  for (const name of SYSTEM_NAMESPACES) {
    try {
      await service.create(create(NamespaceSchema, { metadata: { name } }));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  const compactor = new Compactor(store, cache, cfg.etcdCompactionIntervalSeconds * 1000, log);
  compactor.start();

  const aggregated = new AggregatedApis(cfg.metricsServer);
  const kubelets = new KubeletProxy(service);
  const handlerDeps = {
    service,
    cache,
    metrics: apiMetrics(metrics.registry, {
      watchers: () => cache.watcherCount,
      objects: () => cache.count(),
      history: () => cache.historyStats,
    }),
    log,
    aggregated,
    kubelets,
    watchLimits: { maxPendingBytes: cfg.watchMaxPendingBytes, stallTimeoutMs: cfg.watchStallTimeoutSeconds * 1000 },
  };
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    "grpc.max_send_message_length": 512 * 1024 * 1024,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
  });
  server.addService(
    grpcServiceDefinition(ApiService, { server: true }),
    apiHandlers({ ...handlerDeps, etcdVersion: async () => (await etcd.maintenance.status()).version }),
  );
  health.addToServer(server);
  addReflection(server, [file_kubelab_apiserver_v1_api, ...allKinds().map((k) => k.schema.file)], [ApiService.typeName]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${cfg.bindAddress}:${cfg.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const httpApi = cfg.httpPort >= 0 ? await startHttpApi(handlerDeps, { bindAddress: cfg.bindAddress, port: cfg.httpPort }) : undefined;
  serving = true;
  health.setStatus("", "SERVING");
  health.setStatus(ApiService.typeName, "SERVING");
  log.info("API server serving", { port, httpPort: httpApi?.port, metricsPort: metrics.port, etcd: cfg.etcdServers.join(",") });

  return {
    port,
    httpPort: httpApi?.port,
    metricsPort: metrics.port,
    cache,
    compactor,
    store,
    close: async () => {
      compactor.stop();
      await httpApi?.close();
      cache.stop();
      aggregated.close();
      await new Promise<void>((r) => server.tryShutdown(() => r()));
      server.forceShutdown();
      await metrics.close();
      etcd.close();
    },
  };
}
