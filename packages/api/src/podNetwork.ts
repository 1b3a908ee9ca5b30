/**
 * The labels by which a pod sandbox carries its pod network address (PodNetworkService's
 * contract): the kubelet sets them when it creates the sandbox with an allocated address; the pod
 * network reads them to wire the sandbox and to know which addresses are taken.
 */
export const POD_NETWORK_LABEL = {
  ip: "io.kubelab.pod.ip",
  network: "io.kubelab.pod.network",
} as const;
