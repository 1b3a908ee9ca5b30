import type { LoadBalancerStatus, Node, Service } from "@kubelab/api";

/**
 * Kubernetes' cloudprovider.LoadBalancer, as the service controller calls it: idempotent
 * operations by Service, each given the nodes the load balancer may send to.
 */
export interface LoadBalancerProvider {
  getLoadBalancer(svc: Service): { exists: boolean; status?: LoadBalancerStatus };
  /** Creates or updates the load balancer; returns its status (the ingress addresses). */
  ensureLoadBalancer(svc: Service, nodes: readonly Node[]): Promise<LoadBalancerStatus>;
  /** The nodes changed: the load balancer's hosts are updated. */
  updateLoadBalancer(svc: Service, nodes: readonly Node[]): Promise<void>;
  /** Deletes the load balancer if it exists; no error when it does not. */
  ensureLoadBalancerDeleted(svc: Service): Promise<void>;
}

/** Kubernetes' cloudprovider.InstancesV2, as far as the node lifecycle controller asks it. */
export interface InstancesProvider {
  /** The state of the machine a providerID names ("unknown" when it is not this cloud's). */
  instanceState(providerID: string): Promise<"running" | "shutdown" | "missing" | "unknown">;
}
