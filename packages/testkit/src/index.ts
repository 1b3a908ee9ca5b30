export { EtcdCluster, freePort, freePortRange } from "./etcdCluster.js";
export { startTestApiServer } from "./apiServer.js";
export { spawnApiServer } from "./apiServerProcess.js";
export type { ApiServerProcess } from "./apiServerProcess.js";
