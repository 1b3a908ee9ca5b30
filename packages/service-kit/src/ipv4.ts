// IPv4 addresses as 32-bit numbers, for the allocators of address ranges (the API server's
// ClusterIPs, the pod network's pod IPs): a few lines, less than any library's API.

/** The address as a number; undefined unless it is four decimal octets. */
export function parseIPv4(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export const formatIPv4 = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

/** A CIDR's network address (the given address with its host bits cleared), size and prefix length; undefined unless it is an IPv4 CIDR. */
export function parseIPv4Cidr(cidr: string): { base: number; size: number; prefixLength: number } | undefined {
  const m = /^([\d.]+)\/(\d+)$/.exec(cidr);
  const addr = m ? parseIPv4(m[1]!) : undefined;
  const prefixLength = m ? Number(m[2]) : NaN;
  if (addr === undefined || !(prefixLength >= 0 && prefixLength <= 32)) return undefined;
  const size = 2 ** (32 - prefixLength);
  return { base: addr - (addr % size), size, prefixLength };
}
