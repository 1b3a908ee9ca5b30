export { EtcdCluster, freePort } from "@kubelab/testkit";
