export {
  ApiClient,
  WatchStream,
  DEFAULT_SERVER,
  apiServerTarget,
  CLIENT_CHANNEL_OPTIONS,
  FLOW_CONTROL_WINDOW_BYTES,
  kindDef,
} from "./apiClient.js";
export type {
  KindRef,
  LogOptions,
  ListOptions,
  ListResult,
  WatchOptions,
  WatchEvent,
  WatchEventType,
  DeleteOptions,
  ClientOptions,
} from "./apiClient.js";
// The API's error type and predicates live in @kubelab/api (the server builds them too); re-exported
// here, where most callers meet them.
export {
  ApiError,
  ignoreNotFound,
  isNotFound,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isInvalid,
  isGone,
  isUnavailable,
  isUnreachable,
  REASON_KEY,
  CAUSES_KEY,
} from "@kubelab/api";
export type { StatusReason, Cause } from "@kubelab/api";
export { Informer, Indexer, objectKey, splitKey } from "./informer.js";
export type { EventHandler, IndexFunc, InformerOptions } from "./informer.js";
export { WorkQueue, runWorkers } from "./workQueue.js";
export {
  ExponentialBackoff,
  retryWithBackoff,
  sleep,
  type ExponentialBackoffOptions,
  type RateLimiter,
  type RetryOptions,
} from "./backoff.js";
export type { WorkQueueOptions } from "./workQueue.js";
export { grpcClientClass, grpcServiceDefinition, UndecodableRequest } from "./grpcService.js";
export { EventRecorder } from "./eventRecorder.js";
export { writeStatus } from "./writeStatus.js";
export { retryOnConflict } from "./retryOnConflict.js";
export {
  LeaderElector,
  leaderIdentity,
  leaderElectionConfig,
  runLeaderElected,
  type LeaderCallbacks,
  type LeaderElectionFlags,
  type LeaderElectedComponent,
  type LeaderElection,
  type LeaderElectionConfig,
} from "./leaderElection.js";
export type { EventType, EventSourceInfo, EventTarget } from "./eventRecorder.js";
export { InformerFactory } from "./informerFactory.js";
export { QueueController, type ControllerContext, type ControllerLog } from "./queueController.js";
