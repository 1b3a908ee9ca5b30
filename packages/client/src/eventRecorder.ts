import { create } from "@bufbuild/protobuf";
import { EventSchema, formatMicroTime, formatTime, isNotFound, type Event, type KubeObject, type ObjectReference } from "@kubelab/api";
import type { ApiClient } from "./apiClient.js";

export type EventType = "Normal" | "Warning";

export interface EventSourceInfo {
  /** The reporting component, e.g. "default-scheduler" or "kubelet". */
  component: string;
  /** The node, for a kubelet. */
  host?: string;
  /**
   * reportingInstance: which copy of a replicated component wrote it (kube-scheduler's events
   * say "default-scheduler-<hostname>"); the host when not given, as client-go's legacy recorder.
   */
  instance?: string;
}

/** What an event is about: an object, or a reference with a fieldPath (spec.containers{app}). */
export type EventTarget = KubeObject | ObjectReference;

function referenceTo(target: EventTarget): ObjectReference {
  if (target.$typeName !== "kubelab.core.v1.ObjectReference") {
    const obj = target as KubeObject;
    const m = obj.metadata;
    return {
      $typeName: "kubelab.core.v1.ObjectReference",
      kind: obj.kind,
      apiVersion: obj.apiVersion,
      namespace: m?.namespace ?? "",
      name: m?.name ?? "",
      uid: m?.uid ?? "",
      resourceVersion: m?.resourceVersion ?? "",
      fieldPath: "",
    };
  }
  return target as ObjectReference;
}

interface Aggregate {
  name: string;
  namespace: string;
  count: number;
}

/** Most events sent at once. */
const MAX_BATCH = 32;

interface Pending {
  ref: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  /** When it happened (not when it was sent), in ms. */
  atMs: number;
  key: string;
}

/**
 * client-go's EventRecorder, reduced: an event names the object it is about; repeats of the same
 * (object, fieldPath, type, reason, message) within the cache's life bump `count` and
 * `lastTimestamp` of one Event instead of creating many. Events are best effort: they are sent in
 * the background, and a failure is reported to `onError` and dropped, never thrown into the
 * caller's reconcile loop.
 *
 * Sending is a group commit: an event recorded while others are in flight waits for them, then
 * goes out with everything that queued meanwhile, concurrently. A lone event goes at once, as
 * client-go's one-at-a-time sender would send it; a burst (a kubelet starting pods records three
 * events per container within milliseconds) costs the API server and etcd about half as much per
 * write as the same writes one after another, and leaves more of the machine to the work the
 * events are about. Repeats of one event in a batch are sent in order, so they aggregate.
 */
export class EventRecorder {
  private readonly seen = new Map<string, Aggregate>();
  private readonly queue: Pending[] = [];
  private sending: Promise<void> | undefined;
  private sequence = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly source: EventSourceInfo,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly maxCached = 4096,
  ) {}

  event(target: EventTarget, type: EventType, reason: string, message: string, fieldPath = ""): void {
    const ref = { ...referenceTo(target) };
    if (fieldPath) ref.fieldPath = fieldPath;
    const key = [ref.uid, ref.kind, ref.namespace || "default", ref.name, ref.fieldPath, type, reason, message].join("\u0000");
    this.queue.push({ ref, type, reason, message, atMs: Date.now(), key });
    this.sending ??= this.send().finally(() => (this.sending = undefined));
  }

  /** Resolves when every event recorded so far has been sent (or dropped). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async send(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const byKey = new Map<string, Pending[]>();
      for (const e of batch) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
      await Promise.all(
        [...byKey.values()].map(async (repeats) => {
          for (const e of repeats) await this.record(e).catch((err) => this.onError(err));
        }),
      );
    }
  }

  private async record(e: Pending): Promise<void> {
    const { ref, type, reason, message, atMs, key } = e;
    const time = formatTime(atMs);
    const namespace = ref.namespace || "default";
    const agg = this.seen.get(key);
    if (agg) {
      try {
        await this.client.patch("events", agg.namespace, agg.name, { count: agg.count + 1, lastTimestamp: time });
        agg.count++;
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.seen.delete(key);
      }
    }
    // Kubernetes names events <object>.<UnixNano in hex>. Below the millisecond: a random part
    // (other recorders) and this recorder's sequence (events of one batch share a millisecond).
    const subMs = Math.floor(Math.random() * 1000) * 1000 + (this.sequence++ % 1000);
    const name = `${ref.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(subMs)).toString(16)}`;
    const ev: Event = create(EventSchema, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component: this.source.component, host: this.source.host ?? "" },
      // To the microsecond, as events.k8s.io writes it: what a chaos run orders actions by.
      eventTime: formatMicroTime(atMs),
      reportingComponent: this.source.component,
      reportingInstance: this.source.instance ?? this.source.host ?? "",
    });
    await this.client.create(ev);
    if (this.seen.size >= this.maxCached) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { name, namespace, count: 1 });
  }
}
