import { targetPortOf, type Endpoints, type Service } from "@kubelab/api";

const pad = (label: string) => `${label}:`.padEnd(20);

/** kubectl describe service's body: selector, type, IPs, each port with its target, node port and endpoints. */
export function serviceDetails(svc: Service, eps: Endpoints | undefined): string[] {
  const s = svc.spec!;
  const selector =
    Object.entries(s.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",") || "<none>";
  const lines = [`${pad("Selector")}${selector}`, `${pad("Type")}${s.type || "ClusterIP"}`];
  lines.push(`${pad("IP")}${s.clusterIp || "<none>"}`, `${pad("IPs")}${s.clusterIps.join(",") || "<none>"}`);
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
  return lines;
}
