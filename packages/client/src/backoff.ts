// The one back-off of the project, after client-go's workqueue.RateLimiter and its
// ItemExponentialFailureRateLimiter: the work queue, the scheduling queue, the Job controller,
// the kubelet's CrashLoopBackOff and every retry loop take their delays from here. Written by
// hand: the npm back-off libraries drive a retry loop of their own, while most callers here only
// ask "how long should this key wait?" from a level-triggered loop.

/** client-go's RateLimiter: how long a key waits before its next try. */
export interface RateLimiter<K = string> {
  /** The wait before the key's next attempt; the attempt is counted. */
  when(key: K): number;
  /** Forgets the key's failures (after a success). */
  forget(key: K): void;
  /** How many attempts the key has waited for since it was last forgotten. */
  numRequeues(key: K): number;
}

export interface ExponentialBackoffOptions {
  /** The first delay, in ms. */
  baseDelayMs: number;
  /** The longest delay, in ms. */
  maxDelayMs: number;
  /** Full jitter: each delay is drawn from [0, delay), so many clients do not retry in step. */
  jitter?: boolean;
  random?: () => number;
}

/** base·2ⁿ after n failures of a key, capped at max (client-go's ItemExponentialFailureRateLimiter). */
export class ExponentialBackoff<K = string> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(private readonly opts: ExponentialBackoffOptions) {}

  /** The delay after `failures` earlier failures, without counting anything. */
  delayFor(failures: number): number {
    const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(Math.max(0, failures), 52));
    return this.opts.jitter ? Math.floor((this.opts.random ?? Math.random)() * delay) : delay;
  }

  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return this.delayFor(n);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface RetryOptions {
  backoff: ExponentialBackoff<string>;
  /** Attempts in all, at most (default: until it succeeds or `retry` says no). */
  attempts?: number;
  /** Whether an error is worth another attempt (default: every error). */
  retry?: (e: unknown) => boolean;
  /** Called before each wait, for a log line. */
  onRetry?: (e: unknown, delayMs: number, attempt: number) => void;
  signal?: AbortSignal;
}

/** Runs `fn` until it succeeds, waiting out the back-off between attempts; the last error when it gives up. */
export async function retryWithBackoff<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const key = "retry";
  opts.backoff.forget(key);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const last = opts.attempts !== undefined && attempt >= opts.attempts;
      if (last || opts.signal?.aborted || (opts.retry && !opts.retry(e))) throw e;
      const delayMs = opts.backoff.when(key);
      opts.onRetry?.(e, delayMs, attempt);
      await sleep(delayMs, opts.signal);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
