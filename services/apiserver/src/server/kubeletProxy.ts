import * as grpc from "@grpc/grpc-js";
import {
  ExecInputSchema,
  KubeletService,
  PortForwardInputSchema,
  type PortForwardInput,
  type PortForwardOutput,
  type PortForwardRequest,
  kindForResource,
  type ExecInput,
  type ExecOutput,
  type ExecRequest,
  type Node,
  type Pod,
  type PodLogChunk,
  type PodLogOptions,
} from "@kubelab/api";
import type { ApiError } from "@kubelab/api";
import { create } from "@bufbuild/protobuf";
import { grpcClientClass } from "@kubelab/client";
import { badRequest, kubeletStreamFailed, noKubeletEndpoint, toApiError } from "../apiErrors.js";
import type { ObjectService } from "../registry/objectService.js";

type KubeletClient = grpc.Client & {
  logs(req: PodLogOptions, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<PodLogChunk>;
  exec(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<ExecInput, ExecOutput>;
  portForward(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<PortForwardInput, PortForwardOutput>;
};
const KubeletClientCtor = grpcClientClass<KubeletClient>(KubeletService);

/** A stream from (or to) a pod's kubelet, with where it goes (for errors). */
export interface KubeletStream<S> {
  upstream: S;
  node: string;
  address: string;
}

/**
 * The subresources the kubelet serves (pods/log, pods/exec, pods/attach), for the gRPC and the
 * HTTP API alike: checks the request against the pod, finds the pod's node and that node's
 * kubelet endpoint (InternalIP and daemonEndpoints.kubeletEndpoint.Port), and opens the
 * kubelet's stream.
 */
export class KubeletProxy {
  private readonly clients = new Map<string, KubeletClient>();

  constructor(private readonly service: ObjectService) {}

  async openLogs(req: PodLogOptions): Promise<KubeletStream<grpc.ClientReadableStream<PodLogChunk>>> {
    const { address, node, namespace, container } = await this.target(req.namespace, req.name, req.container, "log");
    return { upstream: this.clientFor(address).logs({ ...req, namespace, container }), node, address };
  }

  /**
   * An exec or attach stream to the pod's kubelet, its first message (the request, with the
   * namespace and container filled in) already sent.
   */
  async openExec(req: ExecRequest): Promise<KubeletStream<grpc.ClientDuplexStream<ExecInput, ExecOutput>> & { request: ExecRequest }> {
    const { address, node, namespace, container } = await this.target(
      req.namespace,
      req.name,
      req.container,
      req.attach ? "attach" : "exec",
    );
    const request = { ...req, namespace, container };
    const upstream = this.clientFor(address).exec();
    upstream.write(create(ExecInputSchema, { input: { case: "start", value: request } }));
    return { upstream, node, address, request };
  }

  /** A stream to one port of the pod, through its kubelet, its first message already sent. */
  async openPortForward(req: PortForwardRequest): Promise<KubeletStream<grpc.ClientDuplexStream<PortForwardInput, PortForwardOutput>>> {
    const { address, node, namespace } = await this.target(req.namespace, req.name, "", "port-forward");
    const upstream = this.clientFor(address).portForward();
    upstream.write(create(PortForwardInputSchema, { input: { case: "start", value: { ...req, namespace } } }));
    return { upstream, node, address };
  }

  /**
   * Kubernetes' checks of a port-forward before its connection is upgraded, when no port is known
   * yet (kubectl names the ports in each stream): the pod exists, runs, and its node has a kubelet.
   */
  async checkPortForward(namespace: string, name: string): Promise<void> {
    await this.target(namespace, name, "", "port-forward");
  }

  private clientFor(address: string): KubeletClient {
    let c = this.clients.get(address);
    if (!c) this.clients.set(address, (c = new KubeletClientCtor(address, grpc.credentials.createInsecure())));
    return c;
  }

  private async target(
    requestedNamespace: string,
    name: string,
    requestedContainer: string,
    what: "log" | "exec" | "attach" | "port-forward",
  ): Promise<{ address: string; node: string; namespace: string; container: string }> {
    const service = this.service;
    if (!name) throw badRequest("name: Required value");
    const namespace = requestedNamespace || "default";
    const pod = (await service.get(kindForResource("pods")!, namespace, name)) as Pod;
    const names = pod.spec!.containers.map((c) => c.name);
    const all = [...names, ...pod.spec!.initContainers.map((c) => c.name)];
    let container = requestedContainer;
    if (what === "port-forward") {
      // A port of the pod, not of one container; Kubernetes forwards only to a running pod.
      if (pod.status?.phase !== "Running")
        throw badRequest(`unable to forward port because pod is not running. Current status=${pod.status?.phase || "Pending"}`);
    } else if (!container) {
      const preferred = pod.metadata?.annotations["kubectl.kubernetes.io/default-container"];
      if (preferred && names.includes(preferred)) container = preferred;
      else if (names.length !== 1)
        throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(" ")}]`);
      else container = names[0]!;
    } else if (!all.includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    const phase = pod.status?.phase;
    if (what !== "log" && (phase === "Succeeded" || phase === "Failed"))
      throw badRequest(`cannot ${what} into a container in a completed pod; current phase is ${phase}`);
    const nodeName = pod.spec!.nodeName;
    if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
    const node = (await service.get(kindForResource("nodes")!, "", nodeName)) as Node;
    const ip = node.status?.addresses.find((a) => a.type === "InternalIP")?.address;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.port;
    if (!ip || !port) throw noKubeletEndpoint(nodeName);
    return { address: `${ip.includes(":") ? `[${ip}]` : ip}:${port}`, node: nodeName, namespace, container };
  }
}

/** The gRPC Logs handler: relays the kubelet's stream; either side going away ends the other. */
export function logsRelay(kubelets: KubeletProxy) {
  return (call: grpc.ServerWritableStream<PodLogOptions, unknown>) => {
    // grpc-js ends a server stream with a status when "error" is emitted with code and details.
    const fail = (e: ApiError) => call.emit("error", { code: e.code, details: e.message, metadata: e.toMetadata() });
    kubelets.openLogs(call.request).then(
      ({ upstream, node, address }) => {
        call.on("cancelled", () => upstream.cancel());
        upstream.on("data", (chunk: PodLogChunk) => {
          if (!call.write(chunk)) upstream.pause();
        });
        call.on("drain", () => upstream.resume());
        upstream.on("end", () => call.end());
        upstream.on("error", (e: grpc.ServiceError) => {
          if (e.code !== grpc.status.CANCELLED) fail(kubeletStreamFailed(node, address, e));
        });
      },
      (e) => fail(toApiError(e)),
    );
  };
}

/** Kubernetes' checks of an exec or attach request, before any stream is opened. */
export function checkExecRequest(req: ExecRequest): void {
  if (!req.attach && req.command.length === 0) throw badRequest("you must specify at least one command for the container");
  if (!req.stdin && !req.stdout && !req.stderr) throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
}

/**
 * Relays a bidirectional stream between a client's call and the kubelet's: each side's messages
 * to the other, with back-pressure both ways; either side ending ends the other.
 */
function relayDuplex<In, Out>(
  call: grpc.ServerDuplexStream<In, Out>,
  { upstream, node, address }: KubeletStream<grpc.ClientDuplexStream<In, Out>>,
  fail: (e: ApiError) => void,
): void {
  call.on("data", (m: In) => {
    if (!upstream.write(m)) call.pause();
  });
  upstream.on("drain", () => call.resume());
  call.on("end", () => upstream.end());
  call.on("cancelled", () => upstream.cancel());
  upstream.on("data", (out: Out) => {
    if (!call.write(out)) upstream.pause();
  });
  call.on("drain", () => upstream.resume());
  upstream.on("end", () => call.end());
  upstream.on("error", (e: grpc.ServiceError) => {
    if (e.code !== grpc.status.CANCELLED) fail(kubeletStreamFailed(node, address, e));
  });
  call.resume();
}

/**
 * A bidirectional subresource's handler (exec, port-forward): the first message must be its
 * start; `open` checks it and opens the kubelet's stream, which is then relayed.
 */
function startedRelay<In extends { input: { case: string | undefined; value?: unknown } }, Out, Start>(
  what: string,
  open: (start: Start) => Promise<KubeletStream<grpc.ClientDuplexStream<In, Out>>>,
) {
  return (call: grpc.ServerDuplexStream<In, Out>) => {
    const fail = (e: ApiError) => call.emit("error", { code: e.code, details: e.message, metadata: e.toMetadata() });
    call.once("data", (first: In) => {
      call.pause();
      if (first.input.case !== "start") return fail(badRequest(`the first message of ${what} stream must be its start`));
      Promise.resolve(first.input.value as Start)
        .then(open)
        .then(
          (opened) => relayDuplex(call, opened, fail),
          (e) => fail(toApiError(e)),
        );
    });
  };
}

/** The gRPC Exec handler: the pod, the container and the command first, then the relay. */
export const execRelay = (kubelets: KubeletProxy) =>
  startedRelay<ExecInput, ExecOutput, ExecRequest>("an exec", async (start) => {
    checkExecRequest(start);
    return kubelets.openExec(start);
  });

/** The gRPC PortForward handler: the pod and the port first, then the relay. */
export const portForwardRelay = (kubelets: KubeletProxy) =>
  startedRelay<PortForwardInput, PortForwardOutput, PortForwardRequest>("a port-forward", (start) => kubelets.openPortForward(start));
