import { describe, expect, it } from "vitest";
import { isKnownTimeZone, parseSchedule, scheduleError, scheduleTimesBetween } from "./schedule.js";

const at = (iso: string) => new Date(iso);
const nextOf = (spec: string, after: string, zone?: string) => parseSchedule(spec, zone).next(at(after))?.toISOString();

describe("scheduleError (robfig/cron's ParseStandard, as kube-apiserver validates spec.schedule)", () => {
  it.each([
    "* * * * *",
    "*/5 * * * *",
    "0 * * * ?",
    "5/15 * * * *",
    "0 9-17 * * MON-FRI",
    "0 0 1 jan,jul *",
    "59 23 31 2 *",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@every 1h30m",
    "TZ=Europe/Berlin 0 9 * * *",
    "CRON_TZ=UTC 0 9 * * *",
  ])("accepts %s", (spec) => {
    expect(scheduleError(spec)).toBeUndefined();
  });

  it.each([
    ["", "empty spec string"],
    ["* * *", "expected exactly 5 fields, found 3: [* * *]"],
    ["0 * * * * *", "expected exactly 5 fields, found 6: [0 * * * * *]"],
    ["60 * * * *", "end of range (60) above maximum (59): 60"],
    ["* 24 * * *", "end of range (24) above maximum (23): 24"],
    ["* * 0 * *", "beginning of range (0) below minimum (1): 0"],
    ["* * * * 7", "end of range (7) above maximum (6): 7"],
    ["5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"],
    ["*/0 * * * *", "step of range should be a positive number: */0"],
    ["1-2-3 * * * *", "too many hyphens: 1-2-3"],
    ["*/2/3 * * * *", "too many slashes: */2/3"],
    ["x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'],
    ["0 0 L * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'],
    ["H * * * *", 'failed to parse int from H: strconv.Atoi: parsing "H": invalid syntax'],
    ["5 4 * * 1#2", 'failed to parse int from 1#2: strconv.Atoi: parsing "1#2": invalid syntax'],
    ["@minutely", "unrecognized descriptor: @minutely"],
    ["@every soon", 'failed to parse duration @every soon: time: invalid duration "soon"'],
    ["TZ=Mars/Olympus * * * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"],
  ])("refuses %j: %s", (spec, message) => {
    expect(scheduleError(spec)).toBe(message);
  });
});

describe("parseSchedule(...).next", () => {
  it("gives the first time strictly after the given one", () => {
    expect(nextOf("0 * * * ?", "2016-05-19T10:00:00Z")).toBe("2016-05-19T11:00:00.000Z");
    expect(nextOf("0 * * * ?", "2016-05-19T09:59:59.500Z")).toBe("2016-05-19T10:00:00.000Z");
    expect(nextOf("*/5 * * * *", "2026-01-01T00:02:00Z")).toBe("2026-01-01T00:05:00.000Z");
  });

  it("starts N/step at N and runs to the field's maximum", () => {
    const times = scheduleTimesBetween(parseSchedule("5/20 * * * *"), at("2026-01-01T00:00:00Z"), at("2026-01-01T01:00:00Z"), 10);
    expect(times.map((t) => t.toISOString().slice(11, 16))).toEqual(["00:05", "00:25", "00:45"]);
  });

  it("reads the macros as robfig/cron does", () => {
    expect(nextOf("@hourly", "2026-01-01T00:30:00Z")).toBe("2026-01-01T01:00:00.000Z");
    expect(nextOf("@daily", "2026-01-01T00:30:00Z")).toBe("2026-01-02T00:00:00.000Z");
    expect(nextOf("@weekly", "2026-01-01T00:30:00Z")).toBe("2026-01-04T00:00:00.000Z"); // a Sunday
    expect(nextOf("@monthly", "2026-01-01T00:30:00Z")).toBe("2026-02-01T00:00:00.000Z");
    expect(nextOf("@yearly", "2026-01-01T00:30:00Z")).toBe("2027-01-01T00:00:00.000Z");
    expect(nextOf("@every 90s", "2026-01-01T00:00:00.700Z")).toBe("2026-01-01T00:01:30.000Z");
  });

  it("matches day-of-month or day-of-week when both are restricted, both when one is a star", () => {
    // 2026-01-05 is a Monday; the 1st and the 15th, or any Monday.
    const either = scheduleTimesBetween(parseSchedule("0 0 1,15 * MON"), at("2026-01-01T00:00:00Z"), at("2026-01-20T00:00:00Z"), 10);
    expect(either.map((t) => t.toISOString().slice(0, 10))).toEqual(["2026-01-05", "2026-01-12", "2026-01-15", "2026-01-19"]);
    const mondays = scheduleTimesBetween(parseSchedule("0 0 * * MON"), at("2026-01-01T00:00:00Z"), at("2026-01-20T00:00:00Z"), 10);
    expect(mondays.map((t) => t.toISOString().slice(0, 10))).toEqual(["2026-01-05", "2026-01-12", "2026-01-19"]);
  });

  it("finds no time for a day no month has (robfig parses it, and Kubernetes then reports it)", () => {
    expect(nextOf("59 23 31 2 *", "2026-01-01T00:00:00Z")).toBeUndefined();
  });

  it("reads the fields in the time zone given", () => {
    expect(nextOf("0 9 * * *", "2026-01-01T00:00:00Z", "America/New_York")).toBe("2026-01-01T14:00:00.000Z");
    expect(nextOf("0 9 * * *", "2026-07-01T00:00:00Z", "America/New_York")).toBe("2026-07-01T13:00:00.000Z");
    expect(nextOf("TZ=Asia/Tokyo 0 9 * * *", "2026-01-01T00:00:00Z")).toBe("2026-01-02T00:00:00.000Z");
  });

  it("runs once on the days daylight saving time begins and ends", () => {
    // New York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    const spring = scheduleTimesBetween(
      parseSchedule("30 2 * * *", "America/New_York"),
      at("2026-03-07T12:00:00Z"),
      at("2026-03-09T12:00:00Z"),
      10,
    );
    expect(spring.map((t) => t.toISOString())).toEqual(["2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z"]);
    const fall = scheduleTimesBetween(
      parseSchedule("30 1 * * *", "America/New_York"),
      at("2026-10-31T12:00:00Z"),
      at("2026-11-02T12:00:00Z"),
      10,
    );
    expect(fall.map((t) => t.toISOString())).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    const hourly = scheduleTimesBetween(
      parseSchedule("0 * * * *", "America/New_York"),
      at("2026-11-01T04:30:00Z"),
      at("2026-11-01T07:30:00Z"),
      10,
    );
    expect(hourly.map((t) => t.toISOString())).toEqual([
      "2026-11-01T05:00:00.000Z",
      "2026-11-01T06:00:00.000Z",
      "2026-11-01T07:00:00.000Z",
    ]);
  });
});

describe("scheduleTimesBetween", () => {
  const hourly = parseSchedule("0 * * * ?");
  it("gives the times in (after, until], oldest first", () => {
    const times = scheduleTimesBetween(hourly, at("2016-05-19T09:00:00Z"), at("2016-05-19T11:05:00Z"), 100);
    expect(times.map((t) => t.toISOString())).toEqual(["2016-05-19T10:00:00.000Z", "2016-05-19T11:00:00.000Z"]);
  });
  it("stops at the limit", () => {
    expect(scheduleTimesBetween(hourly, at("2016-05-19T09:00:00Z"), at("2026-05-19T09:00:00Z"), 101)).toHaveLength(101);
  });
  it("gives nothing when none has come", () => {
    expect(scheduleTimesBetween(hourly, at("2016-05-19T09:50:00Z"), at("2016-05-19T09:53:00Z"), 100)).toEqual([]);
  });
});

describe("isKnownTimeZone", () => {
  it("knows IANA names and UTC, not made-up ones", () => {
    expect(isKnownTimeZone("Europe/Berlin")).toBe(true);
    expect(isKnownTimeZone("UTC")).toBe(true);
    expect(isKnownTimeZone("Mars/Olympus")).toBe(false);
  });
});
