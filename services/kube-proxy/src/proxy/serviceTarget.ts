import type { ServicePortRule } from "../rules/servicePorts.js";
import type { BackendPool } from "./backendPool.js";

/**
 * What a listener serves, updated in place when the Service or its Endpoints change: a
 * listener keeps its socket and the next request sees the new endpoints.
 */
export interface ServiceTarget {
  rule: ServicePortRule;
  pool: BackendPool;
}

/** Kubernetes' wording when a service has nobody to send to. */
export const noEndpointsMessage = (service: string) => `no endpoints available for service "${service}"`;
