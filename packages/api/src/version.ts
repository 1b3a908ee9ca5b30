export const KUBELAB_VERSION = "v0.1.0";
