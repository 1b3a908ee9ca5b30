export { formatMicroTime, formatTime, formatTimeInZone, formatRfc1123z, parseDurationSeconds } from "./time.js";
export { TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE, TAINT_NODE_UNSCHEDULABLE, toleratesTaint, type TaintLike } from "./taints.js";
export {
  isPodActive,
  isPodAvailable,
  isPodReady,
  isPodTerminal,
  msUntilPodAvailable,
  podCondition,
  podReadySinceMs,
} from "./podConditions.js";
export { scaleOf, type Scalable } from "./scale.js";
export { isNodeReady } from "./nodeConditions.js";
export { KUBELAB_PROVIDER_PREFIX, containerOfProviderID } from "./providerId.js";
export * from "./storage.js";
export * from "./volumeMatch.js";
export { termMatches } from "./nodeSelector.js";
