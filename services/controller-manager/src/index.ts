export { startControllerManager } from "./controllerManager.js";
export type { RunningControllerManager } from "./controllerManager.js";
export { loadControllerManagerConfig, defaultControllerManagerConfig, controllerManagerOptions } from "./config.js";
export type { ControllerManagerConfig } from "./config.js";
export { CronJobController, type CronJobControllerOptions } from "./controllers/cronjob/cronJobController.js";
export type { ControllerContext } from "./controllers/queueController.js";
