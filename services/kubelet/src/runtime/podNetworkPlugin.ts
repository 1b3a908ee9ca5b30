import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { AllocateRequestSchema, AttachRequestSchema, PodNetworkService, type AllocateResponse, type AttachResponse } from "@kubelab/api";
import { grpcClientClass } from "@kubelab/client";

type Unary<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;
interface Stub extends grpc.Client {
  allocate: Unary<unknown, AllocateResponse>;
  attach: Unary<unknown, AttachResponse>;
}
const StubCtor = grpcClientClass<Stub>(PodNetworkService);

// A local socket is cheap to dial: after the plugin restarts, pods wait seconds for it, not
// grpc-js's default back-off of up to two minutes.
const RECONNECT = { "grpc.initial_reconnect_backoff_ms": 200, "grpc.max_reconnect_backoff_ms": 2000 };

/**
 * The kubelet's side of the pod network plugin (services/pod-network), as a kubelet calls its
 * CNI plugin: an address before the sandbox is created, the wiring once it runs.
 */
export class PodNetworkPlugin {
  private readonly stub: Stub;

  constructor(
    socket: string,
    private readonly network: string,
    private readonly timeoutMs = 15_000,
  ) {
    this.stub = new StubCtor(`unix:${socket}`, grpc.credentials.createInsecure(), RECONNECT);
  }

  private call<Res>(fn: Unary<unknown, Res>, req: unknown): Promise<Res> {
    return new Promise((resolve, reject) =>
      fn.call(this.stub, req, { deadline: Date.now() + this.timeoutMs }, (err, res) =>
        err ? reject(new Error(`pod network plugin: ${err.details || err.message}`)) : resolve(res!),
      ),
    );
  }

  allocate(pod: string): Promise<AllocateResponse> {
    return this.call(this.stub.allocate, create(AllocateRequestSchema, { network: this.network, pod }));
  }

  async attach(containerId: string, routes: { destination: string; via: string }[]): Promise<string> {
    return (await this.call(this.stub.attach, create(AttachRequestSchema, { network: this.network, containerId, routes }))).ip;
  }

  close(): void {
    this.stub.close();
  }
}
