import { runComponent } from "@kubelab/service-kit";
import { loadPodNetworkConfig } from "./config.js";
import { startPodNetwork } from "./podNetworkServer.js";

await runComponent("pod-network", (log) => startPodNetwork(loadPodNetworkConfig(), log));
