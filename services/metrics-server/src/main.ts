import { runComponent } from "@kubelab/service-kit";
import { loadMetricsServerConfig } from "./config.js";
import { startMetricsServer } from "./metricsServer.js";

await runComponent("metrics-server", (log) => startMetricsServer(loadMetricsServerConfig(), log));
