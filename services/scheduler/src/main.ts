import { ConfigError, createLogger, onShutdown } from "@kubelab/service-kit";
import { loadSchedulerConfig } from "./config.js";
import { startScheduler } from "./scheduler.js";

const log = createLogger("scheduler");
try {
  const cfg = loadSchedulerConfig();
  const scheduler = await startScheduler(cfg, log);
  onShutdown(log, () => scheduler.close());
} catch (e) {
  log.error(e instanceof ConfigError ? e.message : "scheduler failed to start", { error: (e as Error).stack ?? String(e) });
  process.exit(1);
}
