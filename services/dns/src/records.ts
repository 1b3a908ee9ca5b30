import type { Answer } from "dns-packet";
import { isHeadless, type Endpoints, type Service } from "@kubelab/api";

export type Rcode = "NOERROR" | "NXDOMAIN" | "REFUSED";

export interface Lookup {
  service(namespace: string, name: string): Service | undefined;
  endpoints(namespace: string, name: string): Endpoints | undefined;
  namespaceExists(namespace: string): boolean;
}

export interface Resolution {
  rcode: Rcode;
  answers: Answer[];
}

const TTL = 5;

/** Ready addresses of a headless Service (and their hostnames), from its Endpoints. */
function readyAddresses(ep: Endpoints | undefined): Array<{ ip: string; hostname: string }> {
  return (ep?.subsets ?? []).flatMap((s) => s.addresses.map((a) => ({ ip: a.ip, hostname: a.hostname })));
}

/**
 * Kubernetes' DNS schema, for one question:
 *   <service>.<ns>.svc.<domain>             A: the ClusterIP, or each ready pod IP if headless
 *   <hostname>.<service>.<ns>.svc.<domain>  A: that pod of a headless Service
 *   _<port>._<proto>.<service>.<ns>.svc.<domain>  SRV: the named port
 * Names under the cluster domain that do not exist answer NXDOMAIN; names outside it are not ours.
 */
export function resolve(name: string, type: string, domain: string, lookup: Lookup): Resolution | undefined {
  const fqdn = name.toLowerCase().replace(/\.$/, "");
  const suffix = `.svc.${domain}`;
  if (fqdn !== domain && !fqdn.endsWith(`.${domain}`)) return undefined;
  if (!fqdn.endsWith(suffix)) return { rcode: "NXDOMAIN", answers: [] };
  const labels = fqdn.slice(0, -suffix.length).split(".");
  const nx: Resolution = { rcode: "NXDOMAIN", answers: [] };

  if (labels.length === 4 && labels[0]!.startsWith("_") && labels[1]!.startsWith("_")) {
    const [portName, proto, svcName, ns] = [labels[0]!.slice(1), labels[1]!.slice(1).toUpperCase(), labels[2]!, labels[3]!];
    const svc = lookup.service(ns, svcName);
    const port = svc?.spec?.ports.find((p) => p.name === portName && (p.protocol || "TCP") === proto);
    if (!svc || !port) return nx;
    if (type !== "SRV" && type !== "ANY") return { rcode: "NOERROR", answers: [] };
    const target = `${svcName}.${ns}${suffix}`;
    return { rcode: "NOERROR", answers: [{ type: "SRV", name, ttl: TTL, data: { priority: 0, weight: 100, port: port.port, target } }] };
  }
  if (labels.length === 2) {
    const [svcName, ns] = labels as [string, string];
    const svc = lookup.service(ns, svcName);
    if (!svc) return nx;
    const ips = isHeadless(svc)
      ? readyAddresses(lookup.endpoints(ns, svcName)).map((a) => a.ip)
      : svc.spec?.clusterIp
        ? [svc.spec.clusterIp]
        : [];
    if (type !== "A" && type !== "ANY") return { rcode: "NOERROR", answers: [] };
    return { rcode: "NOERROR", answers: ips.map((ip) => ({ type: "A" as const, name, ttl: TTL, data: ip })) };
  }
  if (labels.length === 3) {
    const [host, svcName, ns] = labels as [string, string, string];
    const svc = lookup.service(ns, svcName);
    const match = svc && isHeadless(svc) ? readyAddresses(lookup.endpoints(ns, svcName)).filter((a) => a.hostname === host) : [];
    if (match.length === 0) return nx;
    if (type !== "A" && type !== "ANY") return { rcode: "NOERROR", answers: [] };
    return { rcode: "NOERROR", answers: match.map((a) => ({ type: "A" as const, name, ttl: TTL, data: a.ip })) };
  }
  if (labels.length === 1 && lookup.namespaceExists(labels[0]!)) return { rcode: "NOERROR", answers: [] };
  return nx;
}
