import { runComponent } from "@kubelab/service-kit";
import { loadKubeProxyConfig } from "./config.js";
import { startKubeProxy } from "./kubeProxy.js";

await runComponent("kube-proxy", (log) => startKubeProxy(loadKubeProxyConfig(), log));
