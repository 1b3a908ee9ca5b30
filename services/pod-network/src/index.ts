export { startPodNetwork } from "./podNetworkServer.js";
export { AddressAllocator } from "./addressAllocator.js";
export { loadPodNetworkConfig, podNetworkOptions } from "./config.js";
export type { PodNetworkConfig } from "./config.js";
