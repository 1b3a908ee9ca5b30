export { startKubelet } from "./kubelet.js";
export type { RunningKubelet } from "./kubelet.js";
export { loadKubeletConfig, defaultKubeletConfig, kubeletOptions } from "./config.js";
export type { KubeletConfig } from "./config.js";
export { LABEL } from "./runtime/labels.js";
export { PodNetworkPlugin } from "./runtime/podNetworkPlugin.js";
export { startNetworkNamespaceSharers } from "./runtime/networkNamespaceSharers.js";
export { CgroupReader } from "./stats/cgroupReader.js";
