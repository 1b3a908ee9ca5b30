import { describe, expect, it } from "vitest";
import { formatRfc1123z, formatTimeInZone, parseDurationSeconds } from "./time.js";

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

describe("formatTimeInZone (Go's time.RFC3339 in a location)", () => {
  it("writes Z in UTC and the zone's offset elsewhere, daylight saving time included", () => {
    expect(formatTimeInZone(new Date("2026-03-01T12:00:00.250Z"))).toBe("2026-03-01T12:00:00Z");
    expect(formatTimeInZone(new Date("2026-03-01T12:00:00Z"), "Europe/Berlin")).toBe("2026-03-01T13:00:00+01:00");
    expect(formatTimeInZone(new Date("2026-07-01T12:00:00Z"), "Europe/Berlin")).toBe("2026-07-01T14:00:00+02:00");
    expect(formatTimeInZone(new Date("2026-07-01T12:00:00Z"), "America/New_York")).toBe("2026-07-01T08:00:00-04:00");
    expect(formatTimeInZone(new Date("2026-07-01T12:00:00Z"), "Asia/Kolkata")).toBe("2026-07-01T17:30:00+05:30");
  });
});

describe("formatRfc1123z", () => {
  it("writes Go's time.RFC1123Z in UTC", () => {
    expect(formatRfc1123z("2016-05-19T10:00:00Z")).toBe("Thu, 19 May 2016 10:00:00 +0000");
  });
});
