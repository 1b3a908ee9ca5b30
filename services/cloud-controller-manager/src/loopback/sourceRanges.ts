import { parseIPv4, parseIPv4Cidr } from "@kubelab/service-kit";

export type SourceFilter = (remoteAddress: string | undefined) => boolean;

/**
 * loadBalancerSourceRanges as a predicate on a connection's source: every source when there is
 * no range, else only addresses inside one of them (IPv4-mapped IPv6 addresses taken as IPv4).
 */
export function sourceFilter(ranges: readonly string[]): SourceFilter {
  if (ranges.length === 0) return () => true;
  const parsed = ranges.flatMap((r) => {
    const c = parseIPv4Cidr(r.trim());
    return c ? [c] : [];
  });
  return (remote) => {
    const n = parseIPv4(remote?.startsWith("::ffff:") ? remote.slice(7) : (remote ?? ""));
    return n !== undefined && parsed.some((c) => n >= c.base && n < c.base + c.size);
  };
}
