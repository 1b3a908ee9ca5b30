import type { ApiError } from "@kubelab/api";
import type { Logger } from "@kubelab/service-kit";
import { badRequest, methodNotAllowed, toApiError, unavailable, watcherTooSlow } from "../apiErrors.js";
import type { ApiMetrics } from "../metrics.js";
import type { ObjectService } from "../registry/objectService.js";
import { objectFilter } from "../registry/selectors.js";
import { resourcePrefix } from "../storage/keys.js";
import type { CacheWatcher, WatchCache } from "../storage/watchCache.js";
import { MAX_MESSAGE_BYTES, WatchSender, type WatchSenderLimits } from "./watchSender.js";

export interface WatchStreamDeps {
  service: ObjectService;
  cache: WatchCache;
  metrics: ApiMetrics;
  log: Logger;
  watchLimits: Omit<WatchSenderLimits, "maxMessageBytes">;
}

export interface WatchQuery {
  resource: string;
  namespace: string;
  labelSelector: string;
  fieldSelector: string;
  resourceVersion: string;
  allowWatchBookmarks: boolean;
}

/**
 * One watch, whatever carries it (a gRPC stream, an HTTP response): the query checked, a watcher
 * on the watch cache, its events through a WatchSender that bounds what a slow reader may leave
 * waiting. `write` gets encoded WatchEvents a message at a time and calls `taken` when its
 * transport has them; `end` closes the transport, with the error that ended the watch if one did.
 * Returns the function that stops the watch (the client went away).
 */
export function startWatch(
  deps: WatchStreamDeps,
  q: WatchQuery,
  peer: string,
  write: (batch: Uint8Array[], taken: () => void) => void,
  end: (err?: ApiError) => void,
): () => void {
  const { service, cache, metrics, log } = deps;
  metrics.requests.inc({ verb: "watch", resource: q.resource, code: "OK" });
  let unregister: (() => void) | undefined;
  let stopSender: (() => void) | undefined;
  let closed = false;
  const close = (err?: ApiError) => {
    if (closed) return;
    closed = true;
    unregister?.();
    stopSender?.();
    end(err);
  };
  try {
    const def = service.resolve(q.resource);
    if (def.aggregated) throw methodNotAllowed();
    if (!cache.ready) throw unavailable("the watch cache is not ready yet");
    let fromRev: number | undefined;
    if (q.resourceVersion && q.resourceVersion !== "0") {
      fromRev = Number(q.resourceVersion);
      if (!Number.isInteger(fromRev) || fromRev < 0) {
        throw badRequest(`resourceVersion: Invalid value: ${JSON.stringify(q.resourceVersion)}: must be an integer`);
      }
    }
    const sender = new WatchSender(
      write,
      (why) => {
        metrics.terminatedWatchers.inc({ resource: def.resource, reason: why });
        log.info("closed a watcher that did not take its events", { resource: def.resource, reason: why, peer });
        close(
          watcherTooSlow(
            why === "stalled"
              ? `its stream took nothing for ${deps.watchLimits.stallTimeoutMs / 1000} s`
              : `more than ${deps.watchLimits.maxPendingBytes} bytes of events waited for it`,
          ),
        );
      },
      { ...deps.watchLimits, maxMessageBytes: MAX_MESSAGE_BYTES },
    );
    stopSender = () => sender.close();
    const watcher: CacheWatcher = {
      resource: def.resource,
      filter: objectFilter(def, q.namespace, q.labelSelector, q.fieldSelector),
      bookmarks: q.allowWatchBookmarks,
      lastRev: 0,
      sendInitial: (events) => sender.sendInitial(events),
      send: (bytes) => sender.send(bytes),
      fail: (err) => close(toApiError(err)),
    };
    unregister = cache.addWatcher(watcher, fromRev, resourcePrefix(def, q.namespace));
  } catch (e) {
    close(toApiError(e));
  }
  return () => close();
}
