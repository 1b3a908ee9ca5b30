import { LOAD_BALANCER_CLEANUP_FINALIZER, type Service } from "@kubelab/api";

/**
 * Whether this controller serves the Service's load balancer: type LoadBalancer, and no
 * loadBalancerClass or this controller's own (Kubernetes' default controller takes only those
 * with none; another class belongs to another implementation, which this one leaves alone).
 */
export function wantsLoadBalancer(svc: Service, ourClass: string): boolean {
  if (svc.spec?.type !== "LoadBalancer") return false;
  const cls = svc.spec.loadBalancerClass;
  return cls === undefined || cls === ourClass;
}

export const hasCleanupFinalizer = (svc: Service): boolean => !!svc.metadata?.finalizers.includes(LOAD_BALANCER_CLEANUP_FINALIZER);

/** A Service holding the finalizer whose load balancer must go: being deleted, or no longer a LoadBalancer. */
export function needsCleanup(svc: Service): boolean {
  if (!hasCleanupFinalizer(svc)) return false;
  return !!svc.metadata?.deletionTimestamp || svc.spec?.type !== "LoadBalancer";
}

/** Worth a look by the controller at all: a Service it serves or must clean up after. */
export const isOfInterest = (svc: Service, ourClass: string): boolean => wantsLoadBalancer(svc, ourClass) || needsCleanup(svc);

export type LoadBalancerOp =
  /** Create or update the load balancer, with the finalizer first; events only when `changed`. */
  | { op: "ensure"; changed: boolean }
  /** Delete the load balancer (if it exists), then drop the finalizer and the status's ingress. */
  | { op: "cleanup"; deleting: boolean }
  /** The Service is gone from the API: delete the load balancer that served it. */
  | { op: "deleteGone" }
  | { op: "none" };

/**
 * What Kubernetes' service controller does for one Service key (syncService,
 * syncLoadBalancerIfNeeded): `current` is the Service in the informer's cache (undefined once
 * deleted), `served` the Service as this controller last ensured its load balancer, `exists`
 * whether the load balancer is up.
 */
export function planLoadBalancer(
  current: Service | undefined,
  served: Service | undefined,
  exists: boolean,
  ourClass: string,
): LoadBalancerOp {
  if (!current) return exists || (served && wantsLoadBalancer(served, ourClass)) ? { op: "deleteGone" } : { op: "none" };
  if (!wantsLoadBalancer(current, ourClass) || needsCleanup(current)) {
    if (!exists && !hasCleanupFinalizer(current) && !current.status?.loadBalancer?.ingress.length) return { op: "none" };
    return { op: "cleanup", deleting: !!current.metadata?.deletionTimestamp };
  }
  return { op: "ensure", changed: !exists || !served || !hasCleanupFinalizer(current) || loadBalancerSpecChanged(served, current) };
}

/**
 * The fields a load balancer is built from (Kubernetes' needsUpdate): a change to any of them
 * is a new ensure with its events; anything else is a quiet re-check.
 */
export function loadBalancerSpecChanged(a: Service, b: Service): boolean {
  const view = (s: Service) =>
    JSON.stringify({
      type: s.spec?.type,
      ports: s.spec?.ports.map((p) => [p.name, p.protocol, p.port, p.nodePort, p.targetPort?.kind.value]),
      ranges: s.spec?.loadBalancerSourceRanges,
      ip: s.spec?.loadBalancerIp,
      etp: s.spec?.externalTrafficPolicy,
      hc: s.spec?.healthCheckNodePort,
      alloc: s.spec?.allocateLoadBalancerNodePorts,
      uid: s.metadata?.uid,
    });
  return view(a) !== view(b);
}
