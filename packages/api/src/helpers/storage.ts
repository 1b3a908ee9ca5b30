/**
 * Where local PersistentVolumes live inside a node: a provisioner makes one directory per volume
 * below it (its spec.local.path), and the kubelet mounts that path as it mounts a hostPath. In
 * the lab it is a Docker volume per node (compose.yaml: storage-node-N), so a volume's data
 * outlives the node's container.
 */
export const LOCAL_STORAGE_DIR = "/var/lib/kubelab/storage";
