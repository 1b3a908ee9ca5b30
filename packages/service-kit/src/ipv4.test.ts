import { describe, expect, it } from "vitest";
import { formatIPv4, parseIPv4, parseIPv4Cidr } from "./ipv4.js";

describe("IPv4 helpers", () => {
  it("convert addresses both ways over the whole range, and refuse what is not four octets", () => {
    for (const ip of ["0.0.0.0", "10.213.128.1", "255.255.255.255"]) expect(formatIPv4(parseIPv4(ip)!)).toBe(ip);
    for (const bad of ["10.0.0", "10.0.0.256", "10.0.0.x", "fd00::1", ""]) expect(parseIPv4(bad)).toBeUndefined();
  });

  it("read a CIDR's network address, size and prefix length", () => {
    expect(parseIPv4Cidr("10.213.0.0/16")).toEqual({ base: parseIPv4("10.213.0.0"), size: 65536, prefixLength: 16 });
    expect(formatIPv4(parseIPv4Cidr("172.20.5.7/24")!.base)).toBe("172.20.5.0");
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "fd00::/64", "10.0.0/8"]) expect(parseIPv4Cidr(bad)).toBeUndefined();
  });
});
