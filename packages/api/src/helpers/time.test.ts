import { describe, expect, it } from "vitest";
import { parseDurationSeconds } from "./time.js";

describe("parseDurationSeconds", () => {
  it("takes Kubernetes' (Go's) durations and bare seconds", () => {
    const cases: Array<[string, number | undefined]> = [
      ["40s", 40],
      ["5m", 300],
      ["1h30m", 5400],
      ["500ms", 0.5],
      ["1.5s", 1.5],
      ["2m30s", 150],
      ["10", 10],
      ["0", 0],
      ["2.5", 2.5],
      ["", undefined],
      ["5 minutes", undefined],
      ["s", undefined],
      ["10x", undefined],
    ];
    for (const [raw, want] of cases) expect(parseDurationSeconds(raw), raw).toBe(want);
  });
});
