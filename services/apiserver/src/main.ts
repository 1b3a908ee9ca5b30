import { ConfigError, createLogger, onShutdown } from "@kubelab/service-kit";
import { loadApiServerConfig } from "./config.js";
import { startApiServer } from "./apiServer.js";

const log = createLogger("apiserver");
try {
  const cfg = loadApiServerConfig();
  const server = await startApiServer(cfg, log);
  onShutdown(log, () => server.close());
} catch (e) {
  log.error(e instanceof ConfigError ? e.message : "API server failed to start", { error: (e as Error).stack ?? String(e) });
  process.exit(1);
}
