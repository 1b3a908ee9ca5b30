import { describe, expect, it } from "vitest";
import { milliValue, parseQuantity, QUANTITY_REGEX_MESSAGE, wholeValue } from "./quantity.js";

describe("quantities", () => {
  it.each([
    ["500m", 0.5],
    ["1", 1],
    ["1.5", 1.5],
    [".5", 0.5],
    ["+2", 2],
    ["-1", -1],
    ["128Mi", 128 * 2 ** 20],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1Ki", 1024],
    ["1k", 1000],
    ["1M", 1e6],
    ["2G", 2e9],
    ["2E", 2e18],
    ["1e3", 1000],
    ["2E2", 200],
    ["5e-3", 0.005],
    ["100n", 1e-7],
    ["10u", 1e-5],
  ])("%s = %d", (q, v) => {
    expect(parseQuantity(q)).toBeCloseTo(v, 12);
  });

  it.each(["1.5Gx", "Mi", "", " 1", "1 ", "1.2.3", "abc", "1mi", "1KiB"])("rejects %j with Kubernetes' message", (q) => {
    expect(() => parseQuantity(q)).toThrow(QUANTITY_REGEX_MESSAGE);
  });

  it("gives milli and whole values as the scheduler sums them", () => {
    expect(milliValue("500m")).toBe(500);
    expect(milliValue("2")).toBe(2000);
    expect(milliValue("0.1")).toBe(100);
    expect(wholeValue("1.5Gi")).toBe(1610612736);
    expect(wholeValue("1m")).toBe(1);
    expect(QUANTITY_REGEX_MESSAGE).toBe("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  });
});
