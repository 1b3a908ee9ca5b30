export { loadConfig, envNameFor, ConfigError } from "./config.js";
export type { OptionSpec, ConfigOf } from "./config.js";
export { startMetricsServer } from "./metricsServer.js";
export type { MetricsServer, MetricsRoute } from "./metricsServer.js";
export {
  RESOURCE_METRICS_CONTENT_TYPE,
  ResourceMetricsParseError,
  parseResourceMetrics,
  renderResourceMetrics,
} from "./resourceMetricsText.js";
export type {
  ContainerResourceStats,
  PodResourceStats,
  ResourceMetricsSnapshot,
  ResourceUsage,
} from "./resourceMetricsText.js";
export { createLogger, onShutdown, runComponent } from "./log.js";
export type { Logger, RunningComponent } from "./log.js";
export { formatIPv4, parseIPv4, parseIPv4Cidr } from "./ipv4.js";
export { leaderElectionOptions, leaderElectionStatus } from "./leaderElection.js";
