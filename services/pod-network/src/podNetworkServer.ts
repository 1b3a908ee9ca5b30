import fs from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import Docker from "dockerode";
import { Counter, Histogram } from "prom-client";
import {
  AllocateResponseSchema,
  AttachResponseSchema,
  POD_NETWORK_LABEL,
  PodNetworkService,
  type AllocateRequest,
  type AllocateResponse,
  type AttachRequest,
  type AttachResponse,
} from "@kubelab/api";
import { grpcServiceDefinition } from "@kubelab/client";
import { startMetricsServer, type Logger } from "@kubelab/service-kit";
import { AddressAllocator, AllocationError } from "./addressAllocator.js";
import { BridgeNetworks, type BridgeNetwork } from "./bridgeNetworks.js";
import type { PodNetworkConfig } from "./config.js";
import { wireSandbox } from "./vethWiring.js";

class RequestError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export interface RunningPodNetwork {
  socket: string;
  metricsPort: number;
  close(): Promise<void>;
}

/** Serves PodNetworkService on a unix socket shared with the lab's nodes. */
export async function startPodNetwork(cfg: PodNetworkConfig, log: Logger): Promise<RunningPodNetwork> {
  const docker = new Docker({ socketPath: cfg.dockerHost });
  const networks = new BridgeNetworks(docker);
  const allocators = new Map<string, AddressAllocator>();
  const metrics = await startMetricsServer(cfg.metricsPort, { host: "127.0.0.1", component: "pod-network" });
  const ops = new Counter({
    name: "pod_network_operations_total",
    help: "Allocate and Attach calls by result",
    labelNames: ["operation", "result"],
    registers: [metrics.registry],
  });
  const seconds = new Histogram({
    name: "pod_network_operation_duration_seconds",
    help: "Time to answer an Allocate or Attach call",
    labelNames: ["operation"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics.registry],
  });

  const network = async (name: string): Promise<BridgeNetwork> => {
    if (!name) throw new RequestError(grpc.status.INVALID_ARGUMENT, "network: required");
    try {
      return await networks.get(name);
    } catch (e) {
      const notFound = (e as { statusCode?: number }).statusCode === 404;
      throw new RequestError(
        notFound ? grpc.status.NOT_FOUND : grpc.status.FAILED_PRECONDITION,
        notFound ? `network "${name}" not found` : (e as Error).message,
      );
    }
  };

  const allocate = async (req: AllocateRequest): Promise<AllocateResponse> => {
    const net = await network(req.network);
    let allocator = allocators.get(net.id);
    if (!allocator) allocators.set(net.id, (allocator = new AddressAllocator(net.subnet)));
    const sandboxes = await docker.listContainers({ all: true, filters: { label: [`${POD_NETWORK_LABEL.network}=${net.id}`] } });
    try {
      const ip = allocator.allocate(sandboxes.map((s) => s.Labels[POD_NETWORK_LABEL.ip] ?? ""));
      return create(AllocateResponseSchema, { ip, prefixLength: allocator.prefixLength, gateway: net.gateway, networkId: net.id });
    } catch (e) {
      if (e instanceof AllocationError)
        throw new RequestError(grpc.status.RESOURCE_EXHAUSTED, `network "${net.name}", pod ${req.pod || "(unnamed)"}: ${e.message}`);
      throw e;
    }
  };

  const attach = async (req: AttachRequest): Promise<AttachResponse> => {
    const net = await network(req.network);
    if (!req.containerId) throw new RequestError(grpc.status.INVALID_ARGUMENT, "containerId: required");
    for (const [i, r] of req.routes.entries()) {
      if (!r.destination || !r.via) throw new RequestError(grpc.status.INVALID_ARGUMENT, `routes[${i}]: destination and via are required`);
    }
    let info: Docker.ContainerInspectInfo;
    try {
      info = await docker.getContainer(req.containerId).inspect();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404)
        throw new RequestError(grpc.status.NOT_FOUND, `container "${req.containerId}" not found`);
      throw e;
    }
    const labels = info.Config.Labels ?? {};
    const ip = labels[POD_NETWORK_LABEL.ip];
    if (!ip || labels[POD_NETWORK_LABEL.network] !== net.id) {
      throw new RequestError(
        grpc.status.FAILED_PRECONDITION,
        `container "${req.containerId}": not labelled with an address on network "${net.name}" (${POD_NETWORK_LABEL.ip}, ${POD_NETWORK_LABEL.network})`,
      );
    }
    if (!info.State.Running || !info.State.Pid)
      throw new RequestError(grpc.status.FAILED_PRECONDITION, `container "${req.containerId}": not running`);
    await wireSandbox({
      pid: info.State.Pid,
      hostInterface: `kl${info.Id.slice(0, 12)}`,
      bridge: net.bridge,
      ip,
      prefixLength: Number(net.subnet.split("/")[1]),
      gateway: net.gateway,
      routes: req.routes.map((r) => ({ destination: r.destination, via: r.via })),
    });
    return create(AttachResponseSchema, { ip });
  };

  // grpc-js's unary handler shape, with errors turned into statuses.
  const unary =
    <Req, Res>(operation: string, fn: (req: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const end = seconds.startTimer({ operation });
      fn(call.request).then(
        (res) => {
          end();
          ops.inc({ operation, result: "ok" });
          callback(null, res);
        },
        (e: Error) => {
          end();
          ops.inc({ operation, result: "error" });
          const code = e instanceof RequestError ? e.code : grpc.status.INTERNAL;
          if (code === grpc.status.INTERNAL) log.warn(`${operation} failed`, { error: e.message });
          callback({ code, details: e.message });
        },
      );
    };

  const server = new grpc.Server();
  server.addService(grpcServiceDefinition(PodNetworkService), { allocate: unary("allocate", allocate), attach: unary("attach", attach) });
  fs.mkdirSync(path.dirname(cfg.socket), { recursive: true });
  fs.rmSync(cfg.socket, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${cfg.socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  log.info("pod network plugin serving", { socket: cfg.socket, metricsPort: metrics.port });
  return {
    socket: cfg.socket,
    metricsPort: metrics.port,
    close: async () => {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await metrics.close();
    },
  };
}
