export { ApiClient, WatchStream, DEFAULT_SERVER, kindDef } from "./apiClient.js";
export type { KindRef, ListOptions, ListResult, WatchOptions, WatchEvent, WatchEventType, DeleteOptions, ClientOptions } from "./apiClient.js";
export { ApiError, isNotFound, isAlreadyExists, isConflict, isInvalid, isGone, isUnavailable, REASON_KEY, CAUSES_KEY } from "./errors.js";
export type { StatusReason, Cause } from "./errors.js";
export { Informer, Indexer, objectKey, splitKey } from "./informer.js";
export type { EventHandler, IndexFunc, InformerOptions } from "./informer.js";
export { WorkQueue, runWorkers } from "./workQueue.js";
export type { WorkQueueOptions } from "./workQueue.js";
export { grpcServiceDefinition } from "./grpcService.js";
