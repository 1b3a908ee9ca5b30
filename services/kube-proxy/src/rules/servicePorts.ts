import { isExternallyAccessible, isHeadless, type Endpoints, type Service, type ServicePort } from "@kubelab/api";

export interface Backend {
  ip: string;
  port: number;
  /** "ip:port", made once: it is looked up on every request. */
  key: string;
  /** "pod@ip:port", the backend's metrics label. */
  label: string;
  /** pod/node, for metrics and logs. */
  podName: string;
  nodeName: string;
}

export type ProxyMode = "http" | "tcp";

/** One port of one Service, as this proxy serves it. */
export interface ServicePortRule {
  /** "namespace/name:port-name" (port-name may be empty). */
  id: string;
  service: string;
  portName: string;
  clusterIP: string;
  port: number;
  nodePort: number;
  mode: ProxyMode;
  /** sessionAffinity ClientIP: seconds a client stays with its endpoint; 0 for none. */
  affinitySeconds: number;
  backends: Backend[];
  /**
   * Where the NodePort sends: every backend with externalTrafficPolicy Cluster; with Local only
   * this node's, so a load balancer that health-checks nodes reaches a pod on the node it picked
   * (and none is reached through a node that has none).
   */
  nodePortBackends: Backend[];
  externalLocal: boolean;
}

export function backendOf(ip: string, port: number, podName: string, nodeName = ""): Backend {
  const key = `${ip}:${port}`;
  return { ip, port, key, label: `${podName}@${key}`, podName, nodeName };
}

const DEFAULT_AFFINITY_SECONDS = 10_800;
const HTTP_PORTS = new Set([80, 8080]);

/**
 * HTTP or TCP for one Service port. Kubernetes' own kube-proxy is L4 only; here HTTP is balanced
 * request by request, so which ports speak HTTP must be known: appProtocol says it when set
 * ("http" is HTTP, anything else is not), else a port named "http" or "http-…" (the naming
 * convention meshes use), else the well-known ports 80 and 8080.
 */
export function modeOf(p: ServicePort): ProxyMode {
  const app = p.appProtocol.toLowerCase();
  if (app) return app === "http" ? "http" : "tcp";
  if (p.name === "http" || p.name.startsWith("http-")) return "http";
  return HTTP_PORTS.has(p.port) ? "http" : "tcp";
}

/**
 * The rules of a Service from it and its Endpoints: the ready addresses of the subset port with
 * the Service port's name (the endpoints controller resolved named target ports already). UDP
 * and SCTP ports are left out: this proxy carries TCP only.
 */
export function servicePortRules(svc: Service, eps: Endpoints | undefined, nodeName = ""): ServicePortRule[] {
  const spec = svc.spec;
  if (!spec || isHeadless(svc) || !spec.clusterIp) return [];
  const service = `${svc.metadata!.namespace}/${svc.metadata!.name}`;
  const affinitySeconds =
    spec.sessionAffinity === "ClientIP" ? (spec.sessionAffinityConfig?.clientIp?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : 0;
  const rules: ServicePortRule[] = [];
  for (const p of spec.ports) {
    if ((p.protocol || "TCP") !== "TCP") continue;
    const backends: Backend[] = [];
    for (const subset of eps?.subsets ?? []) {
      const ep = subset.ports.find((sp) => sp.name === p.name) ?? (subset.ports.length === 1 && !p.name ? subset.ports[0] : undefined);
      if (!ep) continue;
      for (const a of subset.addresses) {
        backends.push(backendOf(a.ip, ep.port, a.targetRef?.name ?? a.ip, a.nodeName ?? ""));
      }
    }
    backends.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
    const externalLocal = spec.externalTrafficPolicy === "Local";
    rules.push({
      id: `${service}:${p.name}`,
      service,
      portName: p.name,
      clusterIP: spec.clusterIp,
      port: p.port,
      nodePort: isExternallyAccessible(svc) ? p.nodePort : 0,
      mode: modeOf(p),
      affinitySeconds,
      backends,
      nodePortBackends: externalLocal ? backends.filter((b) => b.nodeName === nodeName) : backends,
      externalLocal,
    });
  }
  return rules;
}

/**
 * The Services this node answers health checks for, by healthCheckNodePort: LoadBalancers with
 * externalTrafficPolicy Local, each with the number of its ready endpoints on this node (pods,
 * not ports: kube-proxy counts endpoints by address).
 */
export function healthCheckServices(
  services: Service[],
  endpointsOf: (key: string) => Endpoints | undefined,
  nodeName: string,
): Map<number, { namespace: string; name: string; localEndpoints: number }> {
  const out = new Map<number, { namespace: string; name: string; localEndpoints: number }>();
  for (const svc of services) {
    const port = svc.spec?.healthCheckNodePort ?? 0;
    if (!port || svc.spec?.type !== "LoadBalancer" || svc.spec.externalTrafficPolicy !== "Local") continue;
    const { namespace, name } = svc.metadata!;
    const local = new Set<string>();
    for (const subset of endpointsOf(`${namespace}/${name}`)?.subsets ?? [])
      for (const a of subset.addresses) if (a.nodeName === nodeName) local.add(a.ip);
    out.set(port, { namespace, name, localEndpoints: local.size });
  }
  return out;
}
