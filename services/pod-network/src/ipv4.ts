// IPv4 arithmetic on 32-bit integers: a few one-line conversions, less than any library's API.
export const ipv4ToInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
export const intToIpv4 = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

/** The subnet's first host address: Docker's gateway for a bridge network not given one. */
export function firstHost(cidr: string): string {
  const [addr, len] = cidr.split("/");
  const size = 2 ** (32 - Number(len));
  const n = ipv4ToInt(addr!);
  return intToIpv4(n - (n % size) + 1);
}
