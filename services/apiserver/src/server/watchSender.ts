/**
 * Bytes of events one WatchResponse (and one LIST response) carries at most, well under the
 * 4 MiB a gRPC client accepts by default. One event larger than this (an object near the 1.5 MiB
 * object limit) goes alone.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Bytes of a response that cannot be split: a LIST without a limit (a client that did not ask
 * for pages is not given a partial list; past this it is told to page). Room for one object of
 * the 1.5 MiB object limit, and still under gRPC's default 4 MiB.
 */
export const MAX_UNPAGED_RESPONSE_BYTES = 3 * 1024 * 1024;

export interface WatchSenderLimits {
  /** Bytes of a watch message, at most (one larger event goes alone). */
  maxMessageBytes: number;
  /** Bytes of events waiting for a slow watcher, at most; beyond it the watcher is closed. */
  maxPendingBytes: number;
  /** How long a message may wait for the transport to take it before the watcher is closed. */
  stallTimeoutMs: number;
}

export type TooSlow = "pending-bytes" | "stalled";

/**
 * Feeds one watch stream: first the watch's initial state (encoded only as the stream takes it, so
 * a large snapshot costs no more memory than the cache already holds), then the live events, in
 * messages of at most `maxMessageBytes`. The stream takes one message at a time (its write's
 * callback says the transport has it; HTTP/2 flow control holds it back while the client does not
 * read). What waits meanwhile is bounded: a watcher with more than `maxPendingBytes` waiting, or
 * whose last message has not been taken after `stallTimeoutMs`, is closed as too slow, as
 * Kubernetes closes a watcher whose buffer stays full, and its client watches again from its last
 * resourceVersion.
 */
export class WatchSender {
  private initial: Array<() => Uint8Array> = [];
  private initialNext = 0;
  private pending: Uint8Array[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  private writing = false;
  private scheduled = false;
  private closed = false;
  /** When the message in flight was handed to the stream (ms), while one is. */
  private writeStartedMs = 0;

  constructor(
    private readonly write: (batch: Uint8Array[], taken: () => void) => void,
    private readonly tooSlow: (why: TooSlow) => void,
    private readonly limits: WatchSenderLimits,
    private readonly stallWatch: StallWatch = defaultStallWatch,
  ) {
    stallWatch.add(this);
  }

  /** Closes the watcher as too slow if its message in flight has waited past the stall timeout. */
  checkStalled(nowMs: number): void {
    if (this.writing && nowMs - this.writeStartedMs > this.limits.stallTimeoutMs) this.fail("stalled");
  }

  /** The watch's initial events, each encoded when its turn comes; sent before any live event. */
  sendInitial(events: Array<() => Uint8Array>): void {
    this.initial = events;
    this.initialNext = 0;
    this.schedule();
  }

  /** One live event, already encoded. */
  send(bytes: Uint8Array): void {
    if (this.closed) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
    if (this.pendingBytes > this.limits.maxPendingBytes) return this.fail("pending-bytes");
    this.schedule();
  }

  /** Bytes of live events waiting to be sent. */
  get waitingBytes(): number {
    return this.pendingBytes;
  }

  close(): void {
    this.closed = true;
    this.stallWatch.delete(this);
    this.initial = [];
    this.pending = [];
    this.pendingBytes = 0;
  }

  private fail(why: TooSlow): void {
    if (this.closed) return;
    this.close();
    this.tooSlow(why);
  }

  // Written once the current task is done: the events of one etcd watch response (often several,
  // applied in one go) reach each watcher as one message, without waiting for another turn of
  // the event loop.
  private schedule(): void {
    if (this.writing || this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.writing || this.closed) return;
    const batch: Uint8Array[] = [];
    let bytes = 0;
    for (;;) {
      let next: Uint8Array | undefined;
      const fromInitial = this.initialNext < this.initial.length;
      if (fromInitial) {
        const encode = this.initial[this.initialNext];
        // Encoded once: kept in place if it does not fit this message.
        next = encode();
        this.initial[this.initialNext] = () => next!;
      } else if (this.pendingHead < this.pending.length) {
        next = this.pending[this.pendingHead];
      }
      if (!next) break;
      if (batch.length > 0 && bytes + next.byteLength > this.limits.maxMessageBytes) break;
      batch.push(next);
      bytes += next.byteLength;
      if (fromInitial) {
        this.initial[this.initialNext++] = EMPTY;
      } else {
        this.pending[this.pendingHead++] = EMPTY_BYTES;
        this.pendingBytes -= next.byteLength;
      }
    }
    this.compact();
    if (batch.length === 0) return;
    this.writing = true;
    this.writeStartedMs = Date.now();
    this.write(batch, () => {
      this.writing = false;
      this.pump();
    });
  }

  /** Drops what was sent from the front of the queues. */
  private compact(): void {
    if (this.initialNext === this.initial.length && this.initial.length) {
      this.initial = [];
      this.initialNext = 0;
    }
    if (this.pendingHead === this.pending.length) {
      this.pending = [];
      this.pendingHead = 0;
    } else if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
  }
}

/**
 * The senders whose stall timeout is watched: one timer for all of them, not one per message (a
 * busy server hands out tens of thousands of messages a second).
 */
export class StallWatch {
  private readonly senders = new Set<WatchSender>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 250) {}

  add(s: WatchSender): void {
    this.senders.add(s);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(Date.now()), this.intervalMs);
      this.timer.unref();
    }
  }

  delete(s: WatchSender): void {
    this.senders.delete(s);
    if (this.senders.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  check(nowMs: number): void {
    for (const s of this.senders) s.checkStalled(nowMs);
  }
}

const defaultStallWatch = new StallWatch();

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY = () => EMPTY_BYTES;
