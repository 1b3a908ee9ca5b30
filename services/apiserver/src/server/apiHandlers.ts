import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import {
  DeleteResponseSchema,
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
  type WatchRequest,
} from "@kubelab/api";
import type { ApiError } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import { badRequest, toApiError, unavailable } from "../apiErrors.js";
import type { ApiMetrics } from "../metrics.js";
import type { ObjectService } from "../registry/objectService.js";
import { objectFilter } from "../registry/selectors.js";
import { resourcePrefix } from "../storage/keys.js";
import { encodeListResponse, encodeWatchResponse } from "./listEncoding.js";
import { logsRelay } from "./logsRelay.js";
import type { CacheWatcher, WatchCache } from "../storage/watchCache.js";

/** A watcher this many events behind is too slow and is closed (its client re-watches). */
const MAX_PENDING_WATCH_EVENTS = 100_000;

export interface HandlerDeps {
  service: ObjectService;
  cache: WatchCache;
  metrics: ApiMetrics;
  log: Logger;
  etcdVersion: () => Promise<string>;
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

/** The ApiService's handlers: decode, call the object service, encode, count. */
export function apiHandlers(deps: HandlerDeps): grpc.UntypedServiceImplementation {
  const { service, cache, metrics, log } = deps;

  function unary<Req>(verb: string, resourceOf: (req: Req) => string, fn: (req: Req) => Promise<unknown>): grpc.handleUnaryCall<Req, unknown> {
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
    create: unary<CreateRequest>("create", anyResource, async (req) => packWritten(await service.create(unpackObject(req.object)))),
    get: unary<GetRequest>("get", (r) => r.resource, async (req) =>
      packObject(await service.get(service.resolve(req.resource), req.namespace, req.name)),
    ),
    list: unary<ListRequest>("list", (r) => r.resource, async (req) => {
      const def = service.resolve(req.resource);
      if (req.limit < 0) throw badRequest(`limit: Invalid value: ${req.limit}: must be greater than or equal to 0`);
      const page = await service.list(def, {
        namespace: req.namespace,
        labelSelector: req.labelSelector,
        fieldSelector: req.fieldSelector,
        limit: req.limit,
        continue: req.continue,
      });
      // Pre-encoded: the service definition's serializer passes bytes through.
      return encodeListResponse(page.resourceVersion, page.continue, page.remaining, page.entries);
    }),
    update: unary<UpdateRequest>("update", anyResource, async (req) => packWritten(await service.update(unpackObject(req.object), ""))),
    updateStatus: unary<UpdateRequest>("update-status", anyResource, async (req) =>
      packWritten(await service.update(unpackObject(req.object), "status")),
    ),
    patch: unary<PatchRequest>("patch", (r) => r.resource, async (req) =>
      packWritten(await service.patch(service.resolve(req.resource), req.namespace, req.name, req.patch, subresourceOf(req.subresource))),
    ),
    delete: unary<DeleteRequest>("delete", (r) => r.resource, async (req) => {
      if (req.propagationPolicy && !["Orphan", "Background", "Foreground"].includes(req.propagationPolicy)) {
        throw badRequest(`propagationPolicy: Unsupported value: "${req.propagationPolicy}": supported values: "Orphan", "Background", "Foreground"`);
      }
      const res = await service.delete(service.resolve(req.resource), req.namespace, req.name, {
        gracePeriodSeconds: req.gracePeriodSeconds,
        uid: req.preconditions?.uid || undefined,
        resourceVersion: req.preconditions?.resourceVersion || undefined,
        propagationPolicy: req.propagationPolicy || undefined,
      });
      return create(DeleteResponseSchema, { object: packWritten(res.obj), removed: res.removed });
    }),
    bind: unary<BindRequest>("bind", () => "pods", async (req) =>
      packWritten(await service.bind(req.namespace, req.name, req.nodeName, req.uid)),
    ),
    version: unary<unknown>("version", () => "", async () =>
      create(VersionInfoSchema, {
        gitVersion: KUBELAB_VERSION,
        platform: `${process.platform}/${process.arch}`,
        nodeVersion: process.version,
        etcdVersion: await deps.etcdVersion().catch(() => "unknown"),
      }),
    ),
    logs: logsRelay(service),
    watch: (call: grpc.ServerWritableStream<WatchRequest, unknown>) => {
      const req = call.request;
      metrics.requests.inc({ verb: "watch", resource: req.resource, code: "OK" });
      let unregister: (() => void) | undefined;
      let closed = false;
      const close = (err?: ApiError) => {
        if (closed) return;
        closed = true;
        unregister?.();
        if (err) call.emit("error", toServiceError(err));
        else call.end();
      };
      try {
        const def = service.resolve(req.resource);
        if (!cache.ready) throw unavailable("the watch cache is not ready yet");
        let fromRev: number | undefined;
        if (req.resourceVersion && req.resourceVersion !== "0") {
          fromRev = Number(req.resourceVersion);
          if (!Number.isInteger(fromRev) || fromRev < 0) {
            throw badRequest(`resourceVersion: Invalid value: ${JSON.stringify(req.resourceVersion)}: must be an integer`);
          }
        }
        // Events wait here while the stream is busy and go out together as one WatchResponse,
        // so a watcher that falls behind costs one write per batch, not one per event.
        const pending: Uint8Array[] = [];
        let writing = false;
        const flush = () => {
          if (closed || pending.length === 0) {
            writing = false;
            return;
          }
          writing = true;
          call.write(encodeWatchResponse(pending.splice(0)), () => flush());
        };
        const watcher: CacheWatcher = {
          resource: def.resource,
          filter: objectFilter(def, req.namespace, req.labelSelector, req.fieldSelector),
          bookmarks: req.allowWatchBookmarks,
          lastRev: 0,
          send: (bytes) => {
            if (closed) return;
            pending.push(bytes);
            if (pending.length > MAX_PENDING_WATCH_EVENTS) close(unavailable("watcher is too slow; please watch again"));
            else if (!writing) {
              // Written once the current task is done: the events of one etcd watch response
              // (often several, applied in one go) reach each watcher as one message, not one
              // write each, and without waiting for another turn of the event loop.
              writing = true;
              queueMicrotask(flush);
            }
          },
          fail: (err) => close(toApiError(err)),
        };
        unregister = cache.addWatcher(watcher, fromRev, resourcePrefix(def, req.namespace));
      } catch (e) {
        close(toApiError(e));
        return;
      }
      call.on("cancelled", () => close());
      call.on("close", () => close());
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
