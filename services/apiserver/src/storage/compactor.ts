import type { Logger } from "@kubelab/service-kit";
import { RevisionCompactedError } from "./etcdClient.js";
import type { ObjectStore } from "./objectStore.js";
import type { WatchCache } from "./watchCache.js";

/**
 * Compacts etcd history every interval, as the Kubernetes API server does: each tick compacts
 * to the revision seen at the previous tick, so one interval of history is always kept.
 */
export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private lastSeen = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: WatchCache,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    try {
      const current = await this.store.currentRevision();
      if (this.lastSeen > 0 && this.lastSeen > this.cache.compactedRevision) {
        await this.compactTo(this.lastSeen);
      }
      this.lastSeen = current;
    } catch (e) {
      this.log.warn("compaction failed", { error: (e as Error).message });
    }
  }

  async compactTo(revision: number): Promise<void> {
    try {
      await this.store.compact(revision);
    } catch (e) {
      // Compacted already (by another API server, say): the revision is gone all the same.
      if (!(e instanceof RevisionCompactedError)) throw e;
    }
    this.cache.noteCompaction(revision);
    this.log.info("compacted etcd", { revision });
  }
}
