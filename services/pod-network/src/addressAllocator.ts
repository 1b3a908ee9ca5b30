import { formatIPv4, parseIPv4, parseIPv4Cidr } from "@kubelab/service-kit";

export class AllocationError extends Error {}

/**
 * Pod addresses on one pods network, as host-local IPAM hands them out: serially (an address
 * freed is not handed out again until the range wraps), from the upper half of the network's
 * subnet. Docker's own IPAM allocates the lab's service containers from the bottom of the same
 * subnet, serially too, and would need tens of thousands of `docker run`s on the network to
 * reach the upper half.
 *
 * Taken addresses are what the caller lists (the labels of the sandboxes that exist) plus those
 * handed out here in the last `holdMs`, which covers the time between an allocation and the
 * creation of the sandbox that carries it; an address whose sandbox was never made comes back.
 */
export class AddressAllocator {
  readonly prefixLength: number;
  private readonly first: number;
  private readonly last: number;
  private next: number;
  private readonly held = new Map<number, number>();

  constructor(
    subnet: string,
    private readonly holdMs = 120_000,
    private readonly now: () => number = Date.now,
  ) {
    const cidr = parseIPv4Cidr(subnet);
    if (!cidr || cidr.prefixLength < 1 || cidr.prefixLength > 28) {
      throw new AllocationError(`subnet "${subnet}": an IPv4 CIDR of /28 or wider is needed`);
    }
    const { base, size, prefixLength } = cidr;
    this.prefixLength = prefixLength;
    // The half's first address would end in .0 in most subnets: legal, and confusing to read.
    this.first = base + size / 2 + 1;
    this.last = base + size - 2; // the top address is the broadcast address
    this.next = this.first;
  }

  /** The next free address; `taken` are those in use on the network. */
  allocate(taken: Iterable<string>): string {
    const t = this.now();
    for (const [n, until] of this.held) if (until <= t) this.held.delete(n);
    const used = new Set<number>(this.held.keys());
    for (const ip of taken) {
      const n = parseIPv4(ip);
      if (n !== undefined) used.add(n);
    }
    const count = this.last - this.first + 1;
    for (let i = 0; i < count; i++) {
      const n = this.first + ((this.next - this.first + i) % count);
      if (used.has(n)) continue;
      this.next = n + 1 > this.last ? this.first : n + 1;
      this.held.set(n, t + this.holdMs);
      return formatIPv4(n);
    }
    throw new AllocationError(`no free pod address in ${formatIPv4(this.first)}-${formatIPv4(this.last)} (${count} addresses, all taken)`);
  }
}
