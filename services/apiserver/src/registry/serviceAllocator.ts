import { invalid, isHeadless, needsHealthCheck, needsNodePorts, type FieldError, type KubeObject, type Service } from "@kubelab/api";
import { formatIPv4, parseIPv4, parseIPv4Cidr } from "@kubelab/service-kit";

/** What an allocator does for a kind: fill in and check unique resources, and name them as claims. */
export interface Allocator {
  /**
   * Fills in what the object asks for none of (keeping what `old` had), checks what it names, and
   * returns the field errors. `avoid` holds claims found taken by a write that lost a race.
   */
  assign(obj: KubeObject, old: KubeObject | undefined, avoid: ReadonlySet<string>): FieldError[];
  claims(obj: KubeObject): string[];
  /** The error for a claim the client asked for by value and another object holds. */
  takenError(claim: string, obj: KubeObject): FieldError | undefined;
}

const ipClaim = (ip: string) => `serviceips/${ip}`;
const portClaim = (port: number) => `servicenodeports/${port}`;

export interface ServiceRanges {
  /** --service-cluster-ip-range, e.g. 10.96.0.0/12. */
  clusterIpRange: string;
  /** --service-node-port-range, e.g. 30000-32767. */
  nodePortRange: string;
}

export function parseRanges(r: ServiceRanges): { base: number; size: number; cidr: string; lo: number; hi: number } {
  const range = parseIPv4Cidr(r.clusterIpRange);
  if (!range || !(range.prefixLength >= 8 && range.prefixLength <= 30))
    throw new Error(`--service-cluster-ip-range: invalid value ${JSON.stringify(r.clusterIpRange)}: must be an IPv4 CIDR from /8 to /30`);
  const p = /^(\d+)-(\d+)$/.exec(r.nodePortRange);
  const lo = p ? Number(p[1]) : NaN;
  const hi = p ? Number(p[2]) : NaN;
  if (!(lo >= 1 && hi <= 65535 && lo <= hi))
    throw new Error(`--service-node-port-range: invalid value ${JSON.stringify(r.nodePortRange)}: must be LOW-HIGH within 1-65535`);
  return { base: range.base, size: range.size, cidr: r.clusterIpRange, lo, hi };
}

/**
 * ClusterIPs from the service range, and NodePorts and healthCheckNodePorts from the node-port range, as kube-apiserver
 * allocates them: a requested address is checked (in range, not taken), a missing one is picked
 * at random among the free ones. Uniqueness itself is the claims' job (etcd transactions); the
 * in-use set read from the watch cache only makes a first pick likely to succeed.
 */
export class ServiceAllocator implements Allocator {
  private readonly r: ReturnType<typeof parseRanges>;

  constructor(
    ranges: ServiceRanges,
    private readonly inUse: () => Service[],
  ) {
    this.r = parseRanges(ranges);
  }

  private used(): { ips: Set<string>; ports: Set<number> } {
    const ips = new Set<string>();
    const ports = new Set<number>();
    for (const s of this.inUse()) {
      if (s.spec?.clusterIp) ips.add(s.spec.clusterIp);
      for (const p of s.spec?.ports ?? []) if (p.nodePort) ports.add(p.nodePort);
      if (s.spec?.healthCheckNodePort) ports.add(s.spec.healthCheckNodePort);
    }
    return { ips, ports };
  }

  private inRange(ip: string): boolean {
    const n = parseIPv4(ip);
    // The network address and the last address of the range are never given out.
    return n !== undefined && n > this.r.base && n < this.r.base + this.r.size - 1;
  }

  private pick<T>(candidate: () => T, free: (t: T) => boolean, tries: number): T | undefined {
    for (let i = 0; i < tries; i++) {
      const c = candidate();
      if (free(c)) return c;
    }
    return undefined;
  }

  assign(obj: KubeObject, oldObj: KubeObject | undefined, avoid: ReadonlySet<string>): FieldError[] {
    const svc = obj as Service;
    const old = oldObj as Service | undefined;
    const spec = svc.spec;
    if (!spec) return [];
    const errs: FieldError[] = [];
    const used = this.used();
    // An update that leaves clusterIP out keeps the one allocated.
    if (!spec.clusterIp && old?.spec?.clusterIp) spec.clusterIp = old.spec.clusterIp;
    if (spec.clusterIp === "None" || (old && spec.clusterIp === old.spec?.clusterIp)) {
      // headless, or kept
    } else if (spec.clusterIp) {
      if (parseIPv4(spec.clusterIp) === undefined) errs.push(invalid("spec.clusterIPs", [spec.clusterIp], "must be a valid IP address"));
      else if (!this.inRange(spec.clusterIp)) {
        errs.push(
          invalid(
            "spec.clusterIPs",
            [spec.clusterIp],
            `failed to allocate IP ${spec.clusterIp}: the provided IP (${spec.clusterIp}) is not in the valid range. The range of valid IPs is ${this.r.cidr}`,
          ),
        );
      }
    } else {
      const ip = this.pick(
        () => formatIPv4(this.r.base + 1 + Math.floor(Math.random() * (this.r.size - 2))),
        (c) => !used.ips.has(c) && !avoid.has(ipClaim(c)),
        1000,
      );
      if (!ip) errs.push(invalid("spec.clusterIPs", "", `failed to allocate a serviceIP: range is full`));
      else spec.clusterIp = ip;
    }
    if (spec.clusterIp) spec.clusterIps = [spec.clusterIp];

    const taken = new Set(used.ports);
    const freePort = (): number | undefined =>
      this.pick(
        () => this.r.lo + Math.floor(Math.random() * (this.r.hi - this.r.lo + 1)),
        (c) => !taken.has(c) && !avoid.has(portClaim(c)),
        2000,
      );
    const checkRequested = (field: string, port: number, mine: boolean) => {
      if (!mine && (port < this.r.lo || port > this.r.hi)) {
        errs.push(invalid(field, port, `provided port is not in the valid range. The range of valid ports is ${this.r.lo}-${this.r.hi}`));
      }
      taken.add(port);
    };
    if (needsNodePorts(svc) || (spec.type === "LoadBalancer" && spec.ports.some((p) => p.nodePort))) {
      // Requested (and kept) ports first, so that none is handed out to another port of the same
      // Service before its own request is seen.
      spec.ports.forEach((p, i) => {
        if (!p.nodePort && needsNodePorts(svc)) {
          // The same port keeps its nodePort across an update.
          const before = old?.spec?.ports.find((o) => o.port === p.port && o.protocol === p.protocol)?.nodePort;
          if (before) p.nodePort = before;
        }
        if (!p.nodePort) return;
        checkRequested(`spec.ports[${i}].nodePort`, p.nodePort, !!old?.spec?.ports.some((o) => o.nodePort === p.nodePort));
      });
      // allocateLoadBalancerNodePorts false: only the NodePorts asked for by value.
      if (needsNodePorts(svc)) {
        spec.ports.forEach((p, i) => {
          if (p.nodePort) return;
          const port = freePort();
          if (port === undefined) errs.push(invalid(`spec.ports[${i}].nodePort`, 0, "failed to allocate a nodePort: range is full"));
          else {
            p.nodePort = port;
            taken.add(port);
          }
        });
      }
    } else {
      for (const p of spec.ports) p.nodePort = 0;
    }
    if (needsHealthCheck(svc)) {
      if (!spec.healthCheckNodePort && old?.spec?.healthCheckNodePort && needsHealthCheck(old))
        spec.healthCheckNodePort = old.spec.healthCheckNodePort;
      if (spec.healthCheckNodePort) {
        checkRequested("spec.healthCheckNodePort", spec.healthCheckNodePort, spec.healthCheckNodePort === old?.spec?.healthCheckNodePort);
      } else {
        const port = freePort();
        if (port === undefined) errs.push(invalid("spec.healthCheckNodePort", 0, "failed to allocate a nodePort: range is full"));
        else spec.healthCheckNodePort = port;
      }
    }
    return errs;
  }

  claims(obj: KubeObject): string[] {
    const spec = (obj as Service).spec;
    if (!spec) return [];
    const out: string[] = [];
    if (spec.clusterIp && !isHeadless(obj as Service)) out.push(ipClaim(spec.clusterIp));
    for (const p of spec.ports) if (p.nodePort) out.push(portClaim(p.nodePort));
    if (spec.healthCheckNodePort) out.push(portClaim(spec.healthCheckNodePort));
    return out;
  }

  takenError(claim: string, obj: KubeObject): FieldError | undefined {
    const spec = (obj as Service).spec!;
    if (claim.startsWith("serviceips/")) {
      const ip = claim.slice("serviceips/".length);
      return invalid("spec.clusterIPs", [ip], `failed to allocate IP ${ip}: provided IP is already allocated`);
    }
    const port = Number(claim.slice("servicenodeports/".length));
    if (spec.healthCheckNodePort === port) return invalid("spec.healthCheckNodePort", port, "provided port is already allocated");
    const i = spec.ports.findIndex((p) => p.nodePort === port);
    return invalid(`spec.ports[${i}].nodePort`, port, "provided port is already allocated");
  }
}
