import type { KubeObject } from "@kubelab/api";
import type { ApiClient } from "./apiClient.js";
import type { EventRecorder } from "./eventRecorder.js";
import { objectKey } from "./informer.js";
import type { InformerFactory } from "./informerFactory.js";
import { runWorkers, WorkQueue } from "./workQueue.js";

export interface ControllerLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** What a controller works with; the log is the component's (service-kit's Logger in the services). */
export interface ControllerContext<L extends ControllerLog = ControllerLog> {
  client: ApiClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  log: L;
}

/**
 * The shape every controller here has, after client-go's sample-controller: informer handlers
 * turn changes into keys on a rate-limited queue; workers call reconcile(key), which reads the
 * caches, compares desired with actual, acts, and writes status. A failed reconcile comes back
 * with per-key exponential back-off; a periodic resync re-queues everything, so a missed event
 * is never forgotten. Shared by the controller-manager and the cloud-controller-manager.
 */
export abstract class QueueController<C extends ControllerContext = ControllerContext> {
  abstract readonly name: string;
  readonly queue = new WorkQueue<string>({ baseDelayMs: 5, maxDelayMs: 60_000 });
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(protected readonly ctx: C) {}

  abstract reconcile(key: string): Promise<void>;

  /** Keys of everything this controller owns, for the periodic resync. */
  protected abstract allKeys(): string[];

  enqueue(obj: KubeObject): void {
    this.queue.add(objectKey(obj));
  }

  run(workers: number, resyncMs = 30_000): Promise<void> {
    for (const k of this.allKeys()) this.queue.add(k);
    this.resyncTimer = setInterval(() => this.allKeys().forEach((k) => this.queue.add(k)), resyncMs);
    return runWorkers(
      this.queue,
      workers,
      (k) => this.reconcile(k),
      (key, err) => this.ctx.log.warn(`${this.name}: reconcile failed, will retry`, { key, error: err }),
    );
  }

  stop(): void {
    clearInterval(this.resyncTimer);
    this.queue.shutdown();
  }
}
