// Kubernetes' two timestamp forms, as metav1 writes them.

/** metav1.Time: RFC 3339 to the second ("2026-11-29T10:26:32Z"), as creationTimestamp and conditions carry it. */
export function formatTime(at: Date | number = Date.now()): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** metav1.MicroTime: RFC 3339 with microseconds ("2026-11-29T10:26:32.123000Z"), as a Lease's renewTime carries it. */
export function formatMicroTime(at: Date | number = Date.now()): string {
  return new Date(at).toISOString().replace(/Z$/, "000Z");
}

const DURATION_UNITS_S: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds in a Go duration ("1h30m", "40s", "500ms") or a bare number of seconds; undefined if it is neither. */
export function parseDurationSeconds(raw: string): number | undefined {
  const text = raw.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return Number(text);
  if (!/^([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/g)) seconds += Number(n) * DURATION_UNITS_S[unit!]!;
  return seconds;
}

/**
 * Go's time.RFC3339 of an instant in an IANA time zone ("2026-03-01T13:00:00+01:00"; "Z" in UTC),
 * as a CronJob's Job carries its scheduled time. Z for a zero offset.
 */
export function formatTimeInZone(at: Date | number, zone = "UTC"): string {
  const d = new Date(at);
  const name = new Intl.DateTimeFormat("en-US", { timeZone: zone || "UTC", timeZoneName: "longOffset" })
    .formatToParts(d)
    .find((p) => p.type === "timeZoneName")?.value;
  const offset = name?.replace(/^GMT/, "") ?? "";
  if (!offset) return formatTime(d);
  const [, sign, hh, mm = "00"] = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset)!;
  const offsetMs = (sign === "-" ? -1 : 1) * (Number(hh) * 60 + Number(mm)) * 60_000;
  // Go's "Z07:00" writes Z for any zero offset (London in winter too).
  if (offsetMs === 0) return formatTime(d);
  return `${new Date(Math.floor(d.getTime() / 1000) * 1000 + offsetMs).toISOString().slice(0, 19)}${sign}${hh}:${mm}`;
}

/** Go's time.RFC1123Z in UTC ("Sun, 01 Mar 2026 12:00:00 +0000"), as kubectl describe and the CronJob controller's events print times. */
export function formatRfc1123z(at: Date | number | string): string {
  return new Date(at).toUTCString().replace(/GMT$/, "+0000");
}
