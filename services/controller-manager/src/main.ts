import { runComponent } from "@kubelab/service-kit";
import { loadControllerManagerConfig } from "./config.js";
import { startControllerManager } from "./controllerManager.js";

await runComponent("controller-manager", (log) => startControllerManager(loadControllerManagerConfig(), log));
