import { formatIPv4, parseIPv4, parseIPv4Cidr } from "@kubelab/service-kit";

export type Allocation = { ip: string } | { error: string };

/**
 * The load balancers' addresses: one per Service, from a CIDR (the network and last addresses
 * never given out, as Kubernetes' allocators do). A Service keeps what it asks for by
 * spec.loadBalancerIP, else what its status already shows (so a restart or a new leader gives
 * every Service the address it had), else the lowest free one.
 */
export class AddressPool {
  private readonly range: { base: number; size: number };
  private readonly byKey = new Map<string, string>();
  private readonly byIp = new Map<string, string>();

  constructor(readonly cidr: string) {
    const r = parseIPv4Cidr(cidr);
    if (!r) throw new Error(`invalid load-balancer address range ${JSON.stringify(cidr)}`);
    this.range = r;
  }

  inRange(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && n > this.range.base && n < this.range.base + this.range.size - 1;
  }

  addressOf(key: string): string | undefined {
    return this.byKey.get(key);
  }

  /**
   * The address of `key`: the one it holds; else `requested` (spec.loadBalancerIP), which must be
   * in the range and free; else the first of `previous` (its status) that is; else the lowest free.
   */
  allocate(key: string, requested: string, previous: readonly string[] = []): Allocation {
    const held = this.byKey.get(key);
    if (requested) {
      if (held === requested) return { ip: held };
      if (!this.inRange(requested))
        return { error: `requested loadBalancerIP ${requested} is not in the load balancers' range ${this.cidr}` };
      const holder = this.byIp.get(requested);
      if (holder && holder !== key) return { error: `requested loadBalancerIP ${requested} is already allocated to ${holder}` };
      this.take(key, requested);
      return { ip: requested };
    }
    if (held) return { ip: held };
    const prior = previous.find((ip) => this.inRange(ip) && !this.byIp.has(ip));
    if (prior) {
      this.take(key, prior);
      return { ip: prior };
    }
    for (let n = this.range.base + 1; n < this.range.base + this.range.size - 1; n++) {
      const ip = formatIPv4(n);
      if (!this.byIp.has(ip)) {
        this.take(key, ip);
        return { ip };
      }
    }
    return { error: `no free address left in the load balancers' range ${this.cidr}` };
  }

  release(key: string): void {
    const ip = this.byKey.get(key);
    if (ip === undefined) return;
    this.byKey.delete(key);
    this.byIp.delete(ip);
  }

  private take(key: string, ip: string): void {
    this.release(key);
    this.byKey.set(key, ip);
    this.byIp.set(ip, key);
  }
}
