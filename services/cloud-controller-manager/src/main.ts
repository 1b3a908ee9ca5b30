import { runComponent } from "@kubelab/service-kit";
import { loadCloudControllerManagerConfig } from "./config.js";
import { startCloudControllerManager } from "./cloudControllerManager.js";

await runComponent("cloud-controller-manager", (log) => startCloudControllerManager(loadCloudControllerManagerConfig(), log));
