export { startKubeProxy, type RunningKubeProxy } from "./kubeProxy.js";
export { defaultKubeProxyConfig, loadKubeProxyConfig, type KubeProxyConfig } from "./config.js";
