import { runComponent } from "@kubelab/service-kit";
import { loadKubeletConfig } from "./config.js";
import { startKubelet } from "./kubelet.js";

await runComponent("kubelet", (log) => startKubelet(loadKubeletConfig(), log));
