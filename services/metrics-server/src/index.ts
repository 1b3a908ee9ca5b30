export { startMetricsServer } from "./metricsServer.js";
export type { RunningMetricsServer } from "./metricsServer.js";
export { MetricsStorage } from "./storage.js";
export { loadMetricsServerConfig, defaultMetricsServerConfig, metricsServerOptions } from "./config.js";
export type { MetricsServerConfig } from "./config.js";
