// Kubernetes' two timestamp forms, as metav1 writes them.

/** metav1.Time: RFC 3339 to the second ("2026-11-29T10:26:32Z"), as creationTimestamp and conditions carry it. */
export function formatTime(at: Date | number = Date.now()): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** metav1.MicroTime: RFC 3339 with microseconds ("2026-11-29T10:26:32.123000Z"), as a Lease's renewTime carries it. */
export function formatMicroTime(at: Date | number = Date.now()): string {
  return new Date(at).toISOString().replace(/Z$/, "000Z");
}
