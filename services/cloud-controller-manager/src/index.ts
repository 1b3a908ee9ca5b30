export { startCloudControllerManager, type RunningCloudControllerManager } from "./cloudControllerManager.js";
export {
  cloudControllerManagerOptions,
  defaultCloudControllerManagerConfig,
  loadCloudControllerManagerConfig,
  type CloudControllerManagerConfig,
} from "./config.js";
export { AddressPool } from "./loopback/addressPool.js";
export { sourceFilter } from "./loopback/sourceRanges.js";
