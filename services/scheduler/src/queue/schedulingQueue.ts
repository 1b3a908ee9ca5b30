import { ExponentialBackoff } from "@kubelab/client";

/**
 * kube-scheduler's scheduling queue, reduced to what it needs here: an active FIFO of pod keys;
 * pods that did not fit wait in an unschedulable set with a per-pod back-off (initial, doubling
 * to max) and come back when their back-off ends or at once when the cluster changes in a way
 * that may let them fit (a node added or changed, a pod deleted).
 */
export class SchedulingQueue {
  private readonly active: string[] = [];
  private readonly inActive = new Set<string>();
  private readonly unschedulable = new Map<string, NodeJS.Timeout>();
  private readonly backoff: ExponentialBackoff;
  private waiter: (() => void) | undefined;
  private closed = false;

  constructor(initialBackoffMs: number, maxBackoffMs: number) {
    this.backoff = new ExponentialBackoff({ baseDelayMs: initialBackoffMs, maxDelayMs: maxBackoffMs });
  }

  add(key: string): void {
    if (this.closed || this.inActive.has(key)) return;
    const t = this.unschedulable.get(key);
    if (t) {
      clearTimeout(t);
      this.unschedulable.delete(key);
    }
    this.inActive.add(key);
    this.active.push(key);
    this.waiter?.();
  }

  /** The pod left the scheduler's concern (bound, deleted). */
  delete(key: string): void {
    const t = this.unschedulable.get(key);
    if (t) clearTimeout(t);
    this.unschedulable.delete(key);
    this.backoff.forget(key);
    if (this.inActive.delete(key)) this.active.splice(this.active.indexOf(key), 1);
  }

  /** The pod did not fit: it retries after its back-off, or sooner on a cluster change. */
  addUnschedulable(key: string): number {
    if (this.closed) return 0;
    const delay = this.backoff.when(key);
    const prev = this.unschedulable.get(key);
    if (prev) clearTimeout(prev);
    this.unschedulable.set(
      key,
      setTimeout(() => {
        this.unschedulable.delete(key);
        this.add(key);
      }, delay),
    );
    return delay;
  }

  /** A node appeared or changed, a pod went away: every waiting pod gets another look. */
  moveAllToActive(): void {
    for (const key of [...this.unschedulable.keys()]) this.add(key);
  }

  async pop(): Promise<string | undefined> {
    while (!this.closed) {
      const key = this.active.shift();
      if (key !== undefined) {
        this.inActive.delete(key);
        return key;
      }
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
    return undefined;
  }

  get pending(): number {
    return this.active.length + this.unschedulable.size;
  }

  close(): void {
    this.closed = true;
    for (const t of this.unschedulable.values()) clearTimeout(t);
    this.unschedulable.clear();
    this.waiter?.();
  }
}
