import { CronExpressionParser } from "cron-parser";
import { parseDurationSeconds } from "../helpers/time.js";

// CronJob schedules as Kubernetes reads them: robfig/cron's ParseStandard (five fields, the
// @yearly…@hourly macros, @every DURATION, an optional TZ= or CRON_TZ= prefix), with its error
// wording, so `spec.schedule: Invalid value: …` reads as kube-apiserver's. The grammar is checked
// here field by field, since cron-parser is more lenient (a seconds field, L, W, #, H); what has
// passed is handed to cron-parser as plain numeric lists, which computes the times in the time
// zone (through luxon), daylight saving time included.

/** A schedule that does not parse; the message is robfig/cron's. */
export class ScheduleParseError extends Error {}

export interface CronSchedule {
  /** The first schedule time strictly after `after`, or undefined if there is none (Feb 31). */
  next(after: Date): Date | undefined;
}

interface FieldBounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS: FieldBounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])) },
  { min: 0, max: 6, names: Object.fromEntries(DAYS.map((d, i) => [d, i])) },
];

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Go's strconv.Atoi as robfig/cron calls it, with its errors. */
function mustParseInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr))
    throw new ScheduleParseError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`);
  const n = Number(expr);
  if (n < 0) throw new ScheduleParseError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names?: Record<string, number>): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? mustParseInt(expr);
}

/**
 * One comma-separated part of a field (robfig's getRange): the values it covers, and whether it
 * is a star (`*` or `?` without a step above 1), which decides how day-of-month and day-of-week combine.
 */
function parseRange(expr: string, b: FieldBounds): { values: number[]; star: boolean } {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = rangeAndStep[0]!.split("-");
  const singleDigit = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0]!, b.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1]!, b.names);
    else throw new ScheduleParseError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]!);
    // "N/step" means "N-max/step".
    if (singleDigit) end = b.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new ScheduleParseError(`too many slashes: ${expr}`);
  }
  if (start < b.min) throw new ScheduleParseError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new ScheduleParseError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new ScheduleParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new ScheduleParseError(`step of range should be a positive number: ${expr}`);
  const values: number[] = [];
  for (let v = start; v <= end; v += step) values.push(v);
  return { values, star };
}

/** A field as cron-parser is given it: "*" for a star, else the sorted values. */
function parseField(field: string, b: FieldBounds): string {
  const parts = field.split(",").map((p) => parseRange(p, b));
  if (parts.some((p) => p.star)) return "*";
  return [...new Set(parts.flatMap((p) => p.values))].sort((x, y) => x - y).join(",");
}

/** Go's time.ParseDuration, for @every: a bare number other than 0 has no unit and is refused. */
function parseGoDurationMs(s: string): number {
  const seconds = /^[+-]?[\d.]+$/.test(s) && Number(s) !== 0 ? undefined : parseDurationSeconds(s);
  if (seconds === undefined)
    throw new ScheduleParseError(`failed to parse duration @every ${s}: time: invalid duration ${JSON.stringify(s)}`);
  return seconds * 1000;
}

/** Whether the IANA zone is known here (Go's time.LoadLocation, with "" and "UTC" as UTC). */
export function isKnownTimeZone(zone: string): boolean {
  if (zone === "" || zone === "UTC") return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a schedule as robfig/cron's ParseStandard does, in `timeZone` (an IANA name; UTC when
 * absent) unless the schedule names its own with TZ= or CRON_TZ=.
 */
export function parseSchedule(spec: string, timeZone?: string): CronSchedule {
  let rest = spec.trim();
  if (!rest) throw new ScheduleParseError("empty spec string");
  let zone = timeZone || "UTC";
  if (rest.startsWith("TZ=") || rest.startsWith("CRON_TZ=")) {
    const i = rest.indexOf(" ");
    const name = rest.slice(rest.indexOf("=") + 1, i < 0 ? undefined : i);
    if (!isKnownTimeZone(name)) throw new ScheduleParseError(`provided bad location ${name}: unknown time zone ${name}`);
    zone = name || "UTC";
    rest = i < 0 ? "" : rest.slice(i).trim();
  }
  if (rest.startsWith("@every ")) {
    const delayMs = Math.max(1000, Math.floor(parseGoDurationMs(rest.slice("@every ".length)) / 1000) * 1000);
    // robfig's ConstantDelaySchedule: the delay later, rounded down to the second.
    return { next: (after) => new Date(Math.floor(after.getTime() / 1000) * 1000 + delayMs) };
  }
  if (rest.startsWith("@")) {
    const expanded = DESCRIPTORS[rest];
    if (!expanded) throw new ScheduleParseError(`unrecognized descriptor: ${rest}`);
    rest = expanded;
  }
  const fields = rest.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) throw new ScheduleParseError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
  const expression = `0 ${fields.map((f, i) => parseField(f, FIELDS[i]!)).join(" ")}`;
  let parsed: ReturnType<typeof CronExpressionParser.parse> | undefined;
  try {
    parsed = CronExpressionParser.parse(expression, { tz: zone, currentDate: new Date(0) });
  } catch {
    // The grammar has passed, so only a day no month has (31 2 *) is left: robfig parses it and
    // finds no time, and so does this schedule.
    parsed = undefined;
  }
  return {
    next(after) {
      if (!parsed) return undefined;
      try {
        // cron-parser starts at the second after currentDate's; robfig at the next whole second.
        parsed.reset(new Date(Math.floor(after.getTime() / 1000) * 1000));
        return parsed.next().toDate();
      } catch {
        return undefined;
      }
    },
  };
}

/** Why a schedule does not parse (robfig/cron's words), or undefined if it does. */
export function scheduleError(spec: string): string | undefined {
  try {
    parseSchedule(spec);
    return undefined;
  } catch (e) {
    if (e instanceof ScheduleParseError) return e.message;
    throw e;
  }
}

/** The schedule's times in (after, until], oldest first, at most `limit` of them. */
export function scheduleTimesBetween(schedule: CronSchedule, after: Date, until: Date, limit: number): Date[] {
  const times: Date[] = [];
  for (let t = schedule.next(after); t && t <= until && times.length < limit; t = schedule.next(t)) times.push(t);
  return times;
}
