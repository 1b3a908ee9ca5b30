import { ExponentialBackoff, type RateLimiter } from "./backoff.js";

// A rate-limited work queue of keys with client-go's guarantees:
// a key waiting is queued once however often it is added; a key is never handed to two workers
// at once (re-added while processing, it is queued again when done); failures come back after a
// per-key exponential delay until forget().

export interface WorkQueueOptions<K> {
  /** First retry delay in ms (client-go: 5 ms), when no rateLimiter is given. */
  baseDelayMs?: number;
  /** Longest retry delay in ms (client-go: 1000 s), when no rateLimiter is given. */
  maxDelayMs?: number;
  /** How long a failed key waits (default: exponential from baseDelayMs to maxDelayMs). */
  rateLimiter?: RateLimiter<K>;
}

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly timers = new Map<K, NodeJS.Timeout>();
  private readonly waiters: Array<(k: K | undefined) => void> = [];
  private shuttingDown = false;
  private readonly rateLimiter: RateLimiter<K>;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.rateLimiter =
      opts.rateLimiter ?? new ExponentialBackoff<K>({ baseDelayMs: opts.baseDelayMs ?? 5, maxDelayMs: opts.maxDelayMs ?? 1_000_000 });
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds the key after a delay; a later, shorter addAfter wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    t.unref?.();
    this.timers.set(key, t);
  }

  /** Re-adds a failed key after its rate limiter's wait. */
  addRateLimited(key: K): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Stops tracking the key's failures (after a success). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to process, or undefined once the queue shuts down. Call done(key) after. */
  get(): Promise<K | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.queue.length;
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}

/**
 * Runs `workers` loops that take keys and reconcile them: success forgets the key's failures,
 * an error re-adds it with backoff. Resolves when the queue shuts down.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  workers: number,
  reconcile: (key: K) => Promise<void>,
  onError: (key: K, err: unknown) => void = () => {},
): Promise<void> {
  const loop = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await reconcile(key);
        queue.forget(key);
      } catch (err) {
        onError(key, err);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
