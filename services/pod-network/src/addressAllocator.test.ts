import { describe, expect, it } from "vitest";
import { AddressAllocator, AllocationError } from "./addressAllocator.js";

describe("AddressAllocator", () => {
  it("hands out the upper half of the subnet, serially, skipping taken addresses", () => {
    const a = new AddressAllocator("172.20.0.0/16");
    expect(a.prefixLength).toBe(16);
    expect(a.allocate([])).toBe("172.20.128.1");
    expect(a.allocate(["172.20.128.2", "172.20.128.3"])).toBe("172.20.128.4");
    expect(a.allocate([])).toBe("172.20.128.5");
  });

  it("holds what it handed out until the sandbox carrying it is listed, or the hold ends", () => {
    let t = 0;
    const a = new AddressAllocator("10.1.2.16/28", 1000, () => t);
    // /28: .25-.30 (.31 is the broadcast address)
    expect([25, 26, 27, 28, 29, 30].map(() => a.allocate([]))).toEqual([
      "10.1.2.25",
      "10.1.2.26",
      "10.1.2.27",
      "10.1.2.28",
      "10.1.2.29",
      "10.1.2.30",
    ]);
    expect(() => a.allocate([])).toThrow(AllocationError);
    t = 1000;
    // Holds ended: the listed ones are taken (their sandboxes exist), the others come back, from the wrap.
    const listed = ["10.1.2.25", "10.1.2.27", "10.1.2.28", "10.1.2.29", "10.1.2.30"];
    expect(a.allocate(listed)).toBe("10.1.2.26");
    expect(() => a.allocate(listed)).toThrow(/no free pod address in 10.1.2.25-10.1.2.30/);
  });

  it("rejects what is not an IPv4 CIDR with room for pods", () => {
    expect(() => new AddressAllocator("fd00::/64")).toThrow(/IPv4 CIDR/);
    expect(() => new AddressAllocator("10.0.0.0/29")).toThrow(/IPv4 CIDR/);
    expect(() => new AddressAllocator("10.0.0.0")).toThrow(/IPv4 CIDR/);
  });
});
