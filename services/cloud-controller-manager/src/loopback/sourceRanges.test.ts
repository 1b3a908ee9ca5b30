import { describe, expect, it } from "vitest";
import { sourceFilter } from "./sourceRanges.js";

describe("sourceFilter (loadBalancerSourceRanges)", () => {
  it("lets every source in when there is no range", () => {
    expect(sourceFilter([])("10.1.2.3")).toBe(true);
  });

  it("lets in only sources inside one of the ranges", () => {
    const allow = sourceFilter(["127.0.0.2/32", " 10.0.0.0/8 "]);
    expect(allow("127.0.0.2")).toBe(true);
    expect(allow("10.200.0.1")).toBe(true);
    expect(allow("127.0.0.1")).toBe(false);
    expect(allow("192.168.0.1")).toBe(false);
  });

  it("reads IPv4-mapped IPv6 sources as IPv4, and refuses a source it cannot read", () => {
    const allow = sourceFilter(["127.0.0.0/8"]);
    expect(allow("::ffff:127.0.0.1")).toBe(true);
    expect(allow("::1")).toBe(false);
    expect(allow(undefined)).toBe(false);
  });
});
