import { targetPortOf, type Endpoints, type Service } from "@kubelab/api";

const pad = (label: string) => `${label}:`.padEnd(Math.max(20, label.length + 2));

/**
 * kubectl describe service's body: selector, type, IPs, a load balancer's ingress, each port with
 * its target, node port and endpoints, then the traffic policy and load-balancer settings.
 */
export function serviceDetails(svc: Service, eps: Endpoints | undefined): string[] {
  const s = svc.spec!;
  const selector =
    Object.entries(s.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "<none>";
  const lines = [`${pad("Selector")}${selector}`, `${pad("Type")}${s.type || "ClusterIP"}`];
  lines.push(`${pad("IP")}${s.clusterIp || "<none>"}`, `${pad("IPs")}${s.clusterIps.join(",") || "<none>"}`);
  if (s.externalIps.length) lines.push(`${pad("External IPs")}${s.externalIps.join(",")}`);
  if (s.loadBalancerIp) lines.push(`${pad("IP")}${s.loadBalancerIp}`);
  const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => `${i.ip || i.hostname}${i.ipMode ? ` (${i.ipMode})` : ""}`);
  if (ingress.length) lines.push(`${pad("LoadBalancer Ingress")}${ingress.join(", ")}`);
  for (const p of s.ports) {
    const name = p.name || "<unset>";
    const target = targetPortOf(p.targetPort, p.port);
    lines.push(`${pad("Port")}${name}  ${p.port}/${p.protocol || "TCP"}`);
    lines.push(`${pad("TargetPort")}${target}/${p.protocol || "TCP"}`);
    if (p.nodePort) lines.push(`${pad("NodePort")}${name}  ${p.nodePort}/${p.protocol || "TCP"}`);
    const addrs: string[] = [];
    for (const sub of eps?.subsets ?? []) {
      const ep = sub.ports.find((x) => x.name === p.name);
      if (ep) for (const a of sub.addresses) addrs.push(`${a.ip}:${ep.port}`);
    }
    lines.push(`${pad("Endpoints")}${addrs.join(",") || "<none>"}`);
  }
  lines.push(`${pad("Session Affinity")}${s.sessionAffinity || "None"}`);
  if (s.externalTrafficPolicy) lines.push(`${pad("External Traffic Policy")}${s.externalTrafficPolicy}`);
  if (s.healthCheckNodePort) lines.push(`${pad("HealthCheck NodePort")}${s.healthCheckNodePort}`);
  if (s.loadBalancerSourceRanges.length) lines.push(`${pad("LoadBalancer Source Ranges")}${s.loadBalancerSourceRanges.join(",")}`);
  return lines;
}
