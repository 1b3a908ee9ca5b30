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
