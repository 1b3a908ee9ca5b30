import { describe, expect, it } from "vitest";
import { firstHost, intToIpv4, ipv4ToInt } from "./ipv4.js";

describe("firstHost", () => {
  it("is the subnet's first address after its network address", () => {
    expect(firstHost("10.213.0.0/16")).toBe("10.213.0.1");
    expect(firstHost("172.20.5.7/24")).toBe("172.20.5.1");
  });

  it("rests on conversions that round-trip the whole range", () => {
    for (const ip of ["0.0.0.0", "10.213.128.1", "255.255.255.255"]) expect(intToIpv4(ipv4ToInt(ip))).toBe(ip);
  });
});
