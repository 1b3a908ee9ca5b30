import { ExponentialBackoff } from "@kubelab/client";

/**
 * client-go's flowcontrol.Backoff as the kubelet uses it for CrashLoopBackOff and
 * ImagePullBackOff: per key, the delay starts at `base` and doubles up to `max` (the project's
 * ExponentialBackoff); a key left alone for twice `max` starts over. The kubelet asks "may this
 * key act yet?" from a level-triggered sync, so each key keeps when it last acted.
 */
export class Backoff {
  private readonly entries = new Map<string, { failures: number; delayMs: number; last: number }>();
  private readonly delays: ExponentialBackoff;

  constructor(
    baseMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.delays = new ExponentialBackoff({ baseDelayMs: baseMs, maxDelayMs: maxMs });
  }

  /** Records an attempt after the event at `at` (a crash's finish time): the delay doubles. */
  next(key: string, at: number = this.now()): number {
    const e = this.entries.get(key);
    const failures = !e || at - e.last > 2 * this.maxMs ? 0 : e.failures + 1;
    const delayMs = this.delays.delayFor(failures);
    this.entries.set(key, { failures, delayMs, last: at });
    return delayMs;
  }

  /**
   * Milliseconds until the key may act again after the event at `since` (0: now), as client-go's
   * IsInBackOffSince: an entry older than 2×max no longer holds anything back.
   */
  remaining(key: string, since?: number): number {
    const e = this.entries.get(key);
    if (!e || this.now() - e.last > 2 * this.maxMs) return 0;
    return Math.max(0, (since ?? e.last) + e.delayMs - this.now());
  }

  /** The current delay of the key, for messages ("back-off 20s restarting failed container"). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key of a pod. */
  resetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
