// Docker labels are the kubelet's only record of what it runs: a restarted kubelet finds its
// pods' containers by them (no local state file to lose), and tests clean up by them.
export const LABEL = {
  lab: "io.kubelab.lab",
  project: "io.kubelab.project",
  node: "io.kubelab.node",
  podName: "io.kubelab.pod.name",
  podNamespace: "io.kubelab.pod.namespace",
  podUid: "io.kubelab.pod.uid",
  containerName: "io.kubelab.container.name",
  containerType: "io.kubelab.container.type",
  attempt: "io.kubelab.container.attempt",
  specHash: "io.kubelab.container.hash",
  gracePeriod: "io.kubelab.pod.termination-grace-period",
} as const;

export type ContainerType = "sandbox" | "init" | "app";

/** The name the sandbox carries in labels, as dockershim called it. */
export const SANDBOX_NAME = "POD";

/** dockershim's naming: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>. */
export function dockerName(container: string, pod: { name: string; namespace: string; uid: string }, attempt: number): string {
  return `k8s_${container}_${pod.name}_${pod.namespace}_${pod.uid}_${attempt}`;
}
