import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import {
  type ApiError,
  APIResourceListSchema,
  apiResources,
  DeleteResponseSchema,
  InvalidObjectError,
  KUBELAB_VERSION,
  VersionInfoSchema,
  kindOf,
  packEncoded,
  packObject,
  unpackObject,
  type KubeObject,
  type BindRequest,
  type CreateRequest,
  type DeleteRequest,
  type GetRequest,
  type ListRequest,
  type PatchRequest,
  type UpdateRequest,
  type UpdateScaleRequest,
  type WatchRequest,
} from "@kubelab/api";
import { UndecodableRequest } from "@kubelab/client";
import { badRequest, toApiError, undecodableRequest } from "../apiErrors.js";
import { bindPod } from "../registry/podBinding.js";
import { encodeListResponse, encodeWatchResponse } from "./listEncoding.js";
import { execRelay, logsRelay, portForwardRelay, type KubeletProxy } from "./kubeletProxy.js";
import { startWatch, type WatchStreamDeps } from "./watchStream.js";
import type { AggregatedApis } from "./aggregatedApis.js";
import { getScale, updateScale } from "../registry/scale.js";
import { MAX_MESSAGE_BYTES, MAX_UNPAGED_RESPONSE_BYTES } from "./watchSender.js";

export interface HandlerDeps extends WatchStreamDeps {
  etcdVersion: () => Promise<string>;
  /** Where Get and List of aggregated kinds (metrics.k8s.io) go. */
  aggregated: AggregatedApis;
  kubelets: KubeletProxy;
}

const toServiceError = (e: ApiError): Partial<grpc.ServiceError> => ({
  code: e.code,
  details: e.message,
  metadata: e.toMetadata(),
});

const subresourceOf = (s: string): "" | "status" => {
  if (s === "" || s === "status") return s;
  throw badRequest(`subresource ${JSON.stringify(s)} is not supported: use "" or "status"`);
};

/**
 * A request object (a CreateRequest's or UpdateRequest's Any) decoded as its kind: bytes that are
 * not that kind's message are the client's mistake (INVALID_ARGUMENT), not a server fault.
 */
function unpackRequest(any: Parameters<typeof unpackObject>[0]): KubeObject {
  try {
    return unpackObject(any);
  } catch (e) {
    if (e instanceof InvalidObjectError) throw e;
    throw undecodableRequest(any?.typeUrl.split("/").pop() ?? "an object", e);
  }
}

/** The ApiService's handlers: decode, call the object service, encode, count. */
export function apiHandlers(deps: HandlerDeps): grpc.UntypedServiceImplementation {
  const handlers = serviceHandlers(deps);
  // Request bytes that are not the method's message reach each handler as UndecodableRequest.
  for (const [name, handler] of Object.entries(handlers)) {
    handlers[name] = ((
      call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
      callback?: grpc.sendUnaryData<unknown>,
    ) => {
      if (call.request instanceof UndecodableRequest) {
        const err = toServiceError(undecodableRequest(call.request.messageName, call.request.cause));
        deps.metrics.requests.inc({ verb: name.toLowerCase(), resource: "", code: grpc.status[grpc.status.INVALID_ARGUMENT] });
        if (callback) callback(err);
        else call.emit("error", err);
        return;
      }
      return (handler as (c: typeof call, cb?: typeof callback) => void)(call, callback);
    }) as grpc.UntypedHandleCall;
  }
  return handlers;
}

function serviceHandlers(deps: HandlerDeps): grpc.UntypedServiceImplementation {
  const { service, cache, metrics, log } = deps;

  function unary<Req>(
    verb: string,
    resourceOf: (req: Req) => string,
    fn: (req: Req) => Promise<unknown>,
  ): grpc.handleUnaryCall<Req, unknown> {
    return (call, callback) => {
      const resource = safeResource(() => resourceOf(call.request));
      const end = metrics.latency.startTimer({ verb, resource });
      fn(call.request).then(
        (res) => {
          end();
          metrics.requests.inc({ verb, resource, code: "OK" });
          callback(null, res);
        },
        (e: unknown) => {
          end();
          const err = toApiError(e);
          metrics.requests.inc({ verb, resource, code: grpc.status[err.code] });
          if (err.code === grpc.status.INTERNAL) log.error("request failed", { verb, resource, error: (e as Error)?.stack ?? String(e) });
          callback(toServiceError(err));
        },
      );
    };
  }

  // An object the server just wrote goes out with the encoding its watch event will reuse.
  const packWritten = (obj: KubeObject) => {
    const bytes = cache.encodingOf(obj);
    return bytes ? packEncoded(kindOf(obj), bytes) : packObject(obj);
  };

  const anyResource = (req: { object?: { typeUrl: string } }) => req.object?.typeUrl.split(".").pop() ?? "";

  return {
    create: unary<CreateRequest>("create", anyResource, async (req) => packWritten(await service.create(unpackRequest(req.object)))),
    get: unary<GetRequest>(
      "get",
      (r) => r.resource,
      async (req) => {
        const def = service.resolve(req.resource);
        if (def.aggregated) return deps.aggregated.get(def, req);
        return packObject(await service.get(def, req.namespace, req.name));
      },
    ),
    list: unary<ListRequest>(
      "list",
      (r) => r.resource,
      async (req) => {
        const def = service.resolve(req.resource);
        if (def.aggregated) return deps.aggregated.list(def, req);
        if (req.limit < 0) throw badRequest(`limit: Invalid value: ${req.limit}: must be greater than or equal to 0`);
        const page = await service.list(def, {
          namespace: req.namespace,
          labelSelector: req.labelSelector,
          fieldSelector: req.fieldSelector,
          limit: req.limit,
          continue: req.continue,
          pageMaxBytes: MAX_MESSAGE_BYTES,
          unpagedMaxBytes: MAX_UNPAGED_RESPONSE_BYTES,
        });
        // Pre-encoded: the service definition's serializer passes bytes through.
        return encodeListResponse(page.resourceVersion, page.continue, page.remaining, page.entries);
      },
    ),
    update: unary<UpdateRequest>("update", anyResource, async (req) => packWritten(await service.update(unpackRequest(req.object), ""))),
    updateStatus: unary<UpdateRequest>("update-status", anyResource, async (req) =>
      packWritten(await service.update(unpackRequest(req.object), "status")),
    ),
    patch: unary<PatchRequest>(
      "patch",
      (r) => r.resource,
      async (req) =>
        packWritten(await service.patch(service.resolve(req.resource), req.namespace, req.name, req.patch, subresourceOf(req.subresource))),
    ),
    delete: unary<DeleteRequest>(
      "delete",
      (r) => r.resource,
      async (req) => {
        const res = await service.delete(service.resolve(req.resource), req.namespace, req.name, {
          gracePeriodSeconds: req.gracePeriodSeconds,
          uid: req.preconditions?.uid || undefined,
          resourceVersion: req.preconditions?.resourceVersion || undefined,
          propagationPolicy: req.propagationPolicy || undefined,
        });
        return create(DeleteResponseSchema, { object: packWritten(res.obj), removed: res.removed });
      },
    ),
    bind: unary<BindRequest>(
      "bind",
      () => "pods",
      async (req) => packWritten(await bindPod(service, req.namespace, req.name, req.nodeName, req.uid)),
    ),
    version: unary<unknown>(
      "version",
      () => "",
      async () =>
        create(VersionInfoSchema, {
          gitVersion: KUBELAB_VERSION,
          platform: `${process.platform}/${process.arch}`,
          nodeVersion: process.version,
          etcdVersion: await deps.etcdVersion().catch(() => "unknown"),
        }),
    ),
    logs: logsRelay(deps.kubelets),
    exec: execRelay(deps.kubelets),
    portForward: portForwardRelay(deps.kubelets),
    getScale: unary<GetRequest>(
      "get-scale",
      (r) => r.resource,
      (req) => getScale(service, req.resource, req.namespace, req.name),
    ),
    updateScale: unary<UpdateScaleRequest>(
      "update-scale",
      (r) => r.resource,
      (req) => updateScale(service, req.resource, req.scale),
    ),
    getAPIResources: unary<unknown>(
      "discovery",
      () => "",
      async () => create(APIResourceListSchema, { resources: apiResources() }),
    ),
    watch: (call: grpc.ServerWritableStream<WatchRequest, unknown>) => {
      const req = call.request;
      const stop = startWatch(
        deps,
        req,
        call.getPeer(),
        (batch, taken) => call.write(encodeWatchResponse(batch), taken),
        (err) => {
          if (err) call.emit("error", toServiceError(err));
          else call.end();
        },
      );
      call.on("cancelled", stop);
      call.on("close", stop);
    },
  };
}

function safeResource(fn: () => string): string {
  try {
    return fn();
  } catch {
    return "";
  }
}
