/**
 * The lab's cloud: each node is a Docker container, named in its Node's spec.providerID as
 * `kubelab://<container id>` (the kubelet sets it, as a kubelet given --provider-id; the cloud
 * controller manager asks Docker whether that machine still exists).
 */
export const KUBELAB_PROVIDER_PREFIX = "kubelab://";

/** The container a providerID names, or undefined when it is not one of the lab's. */
export function containerOfProviderID(providerID: string | undefined): string | undefined {
  if (!providerID?.startsWith(KUBELAB_PROVIDER_PREFIX)) return undefined;
  const id = providerID.slice(KUBELAB_PROVIDER_PREFIX.length);
  return /^[0-9a-f]{12,64}$/.test(id) ? id : undefined;
}
