import { describe, expect, it } from "vitest";
import { parsePortPair } from "./portForward.js";

describe("parsePortPair", () => {
  it("reads kubectl's port specs", () => {
    expect(parsePortPair("8080")).toEqual({ local: 8080, remote: "8080" });
    expect(parsePortPair("9000:80")).toEqual({ local: 9000, remote: "80" });
    expect(parsePortPair(":80")).toEqual({ local: 0, remote: "80" });
    expect(parsePortPair("9000:http")).toEqual({ local: 9000, remote: "http" });
  });

  it("refuses what is not a port", () => {
    expect(() => parsePortPair("99999:80")).toThrow("invalid port format '99999:80'");
    expect(() => parsePortPair("a:b:c")).toThrow("invalid port format");
    expect(() => parsePortPair("9000:")).toThrow("invalid port format");
  });
});
