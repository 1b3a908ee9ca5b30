export { startApiServer } from "./apiServer.js";
export type { RunningApiServer } from "./apiServer.js";
export { defaultApiServerConfig, loadApiServerConfig } from "./config.js";
export type { ApiServerConfig } from "./config.js";
