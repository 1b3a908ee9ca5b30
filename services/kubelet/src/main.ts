import { ConfigError, createLogger, onShutdown } from "@kubelab/service-kit";
import { loadKubeletConfig } from "./config.js";
import { startKubelet } from "./kubelet.js";

const log = createLogger("kubelet");
try {
  const cfg = loadKubeletConfig();
  const kubelet = await startKubelet(cfg, log);
  onShutdown(log, () => kubelet.close());
} catch (e) {
  log.error(e instanceof ConfigError ? e.message : "kubelet failed to start", { error: (e as Error).stack ?? String(e) });
  process.exit(1);
}
