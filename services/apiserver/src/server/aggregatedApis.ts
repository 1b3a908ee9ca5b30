import * as grpc from "@grpc/grpc-js";
import { ApiError, ApiService, type GetRequest, type KindDefinition, type ListRequest } from "@kubelab/api";
import { grpcClientClass } from "@kubelab/client";
import { aggregatedApiUnavailable } from "../apiErrors.js";

type Unary<Req> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;
type BackendClient = grpc.Client & { get: Unary<GetRequest>; list: Unary<ListRequest> };
const BackendClientCtor = grpcClientClass<BackendClient>(ApiService);

/**
 * How long the API server waits on metrics-server before answering ServiceUnavailable: well within
 * a client's own deadline (the CLI's is 10 s), so a stopped metrics-server, whose name may take
 * seconds to fail to resolve, is reported as itself and not as an unreachable API server.
 */
const BACKEND_TIMEOUT_MS = 5000;

/**
 * The aggregation layer: Get and List of an aggregated kind (metrics.k8s.io's PodMetrics and
 * NodeMetrics) go to the API server that serves it, metrics-server, which speaks the same
 * ApiService; its answer is relayed as it came. A backend that is not configured
 * or does not answer is ServiceUnavailable, worded as Kubernetes words it.
 */
export class AggregatedApis {
  private readonly client: BackendClient | undefined;

  constructor(private readonly metricsServerAddress: string) {
    this.client = metricsServerAddress ? new BackendClientCtor(metricsServerAddress, grpc.credentials.createInsecure()) : undefined;
  }

  get(def: KindDefinition, req: GetRequest): Promise<unknown> {
    return this.call(def, "get", (c, md, opts, cb) => c.get(req, md, opts, cb));
  }

  list(def: KindDefinition, req: ListRequest): Promise<unknown> {
    return this.call(def, "list", (c, md, opts, cb) => c.list(req, md, opts, cb));
  }

  close(): void {
    this.client?.close();
  }

  private call(
    def: KindDefinition,
    verb: string,
    fn: (c: BackendClient, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void,
  ): Promise<unknown> {
    const client = this.client;
    if (!client) return Promise.reject(aggregatedApiUnavailable(verb, def, "no metrics-server is configured (--metrics-server)"));
    return new Promise((resolve, reject) =>
      fn(client, new grpc.Metadata(), { deadline: Date.now() + BACKEND_TIMEOUT_MS }, (err, res) => {
        if (!err) return resolve(res);
        // The backend's own answers (NotFound, BadRequest) pass through with their code and reason.
        const unreachable =
          err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED || err.code === grpc.status.UNIMPLEMENTED;
        reject(
          unreachable
            ? aggregatedApiUnavailable(verb, def, `${this.metricsServerAddress}: ${err.details}`)
            : ApiError.fromServiceError(err),
        );
      }),
    );
  }
}
