import * as grpc from "@grpc/grpc-js";
import { KubeletService, kindForResource, type Node, type Pod, type PodLogChunk, type PodLogOptions } from "@kubelab/api";
import type { ApiError } from "@kubelab/api";
import { grpcClientClass } from "@kubelab/client";
import { badRequest, kubeletStreamFailed, noKubeletEndpoint, toApiError } from "../apiErrors.js";
import type { ObjectService } from "../registry/objectService.js";

type KubeletClient = grpc.Client & {
  logs(req: PodLogOptions, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<PodLogChunk>;
};
const KubeletClientCtor = grpcClientClass<KubeletClient>(KubeletService);

/** A container's log stream from its node's kubelet, with where it comes from (for errors). */
export interface PodLogStream {
  upstream: grpc.ClientReadableStream<PodLogChunk>;
  node: string;
  address: string;
}

/**
 * The pods/log subresource, for the gRPC and the HTTP API alike: checks the request against the
 * pod, finds the pod's node and that node's kubelet endpoint (InternalIP and
 * daemonEndpoints.kubeletEndpoint.Port), and opens the kubelet's stream of the log.
 */
export class PodLogs {
  private readonly clients = new Map<string, KubeletClient>();

  constructor(private readonly service: ObjectService) {}

  async open(req: PodLogOptions): Promise<PodLogStream> {
    const { address, node, request } = await this.target(req);
    return { upstream: this.clientFor(address).logs(request), node, address };
  }

  private clientFor(address: string): KubeletClient {
    let c = this.clients.get(address);
    if (!c) this.clients.set(address, (c = new KubeletClientCtor(address, grpc.credentials.createInsecure())));
    return c;
  }

  private async target(req: PodLogOptions): Promise<{ address: string; node: string; request: PodLogOptions }> {
    const service = this.service;
    if (!req.name) throw badRequest("name: Required value");
    const namespace = req.namespace || "default";
    const pod = (await service.get(kindForResource("pods")!, namespace, req.name)) as Pod;
    const names = pod.spec!.containers.map((c) => c.name);
    const all = [...names, ...pod.spec!.initContainers.map((c) => c.name)];
    let container = req.container;
    if (!container) {
      if (names.length !== 1)
        throw badRequest(`a container name must be specified for pod ${req.name}, choose one of: [${names.join(" ")}]`);
      container = names[0]!;
    } else if (!all.includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${req.name}`);
    }
    const nodeName = pod.spec!.nodeName;
    if (!nodeName) throw badRequest(`pod ${req.name} does not have a host assigned`);
    const node = (await service.get(kindForResource("nodes")!, "", nodeName)) as Node;
    const ip = node.status?.addresses.find((a) => a.type === "InternalIP")?.address;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.port;
    if (!ip || !port) throw noKubeletEndpoint(nodeName);
    return { address: `${ip.includes(":") ? `[${ip}]` : ip}:${port}`, node: nodeName, request: { ...req, namespace, container } };
  }
}

/** The gRPC Logs handler: relays the kubelet's stream; either side going away ends the other. */
export function logsRelay(logs: PodLogs) {
  return (call: grpc.ServerWritableStream<PodLogOptions, unknown>) => {
    // grpc-js ends a server stream with a status when "error" is emitted with code and details.
    const fail = (e: ApiError) => call.emit("error", { code: e.code, details: e.message, metadata: e.toMetadata() });
    logs.open(call.request).then(
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
