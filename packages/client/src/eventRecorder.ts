import { create } from "@bufbuild/protobuf";
import { EventSchema, type Event, type KubeObject, type ObjectReference } from "@kubelab/api";
import type { ApiClient } from "./apiClient.js";
import { isNotFound } from "./errors.js";

export type EventType = "Normal" | "Warning";

export interface EventSourceInfo {
  /** The reporting component, e.g. "default-scheduler" or "kubelet". */
  component: string;
  /** The node, for a kubelet. */
  host?: string;
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

/**
 * client-go's EventRecorder, reduced: an event names the object it is about; repeats of the same
 * (object, fieldPath, type, reason, message) within the cache's life bump `count` and
 * `lastTimestamp` of one Event instead of creating many. Events are best effort: they are sent in
 * the background, one at a time, and a failure is reported to `onError` and dropped, never thrown
 * into the caller's reconcile loop.
 */
export class EventRecorder {
  private readonly seen = new Map<string, Aggregate>();
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly source: EventSourceInfo,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly maxCached = 4096,
  ) {}

  event(target: EventTarget, type: EventType, reason: string, message: string, fieldPath = ""): void {
    const ref = { ...referenceTo(target) };
    if (fieldPath) ref.fieldPath = fieldPath;
    this.pending++;
    this.chain = this.chain
      .then(() => this.record(ref, type, reason, message))
      .catch((e) => this.onError(e))
      .finally(() => this.pending--);
  }

  /** Resolves when every event recorded so far has been sent (or dropped). */
  async flush(): Promise<void> {
    while (this.pending > 0) await this.chain;
  }

  private async record(ref: ObjectReference, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const namespace = ref.namespace || "default";
    const key = [ref.uid, ref.kind, namespace, ref.name, ref.fieldPath, type, reason, message].join("\u0000");
    const agg = this.seen.get(key);
    if (agg) {
      try {
        await this.client.patch("events", agg.namespace, agg.name, { count: agg.count + 1, lastTimestamp: now });
        agg.count++;
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.seen.delete(key);
      }
    }
    // Kubernetes names events <object>.<unique hex suffix>.
    const name = `${ref.name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`;
    const ev: Event = create(EventSchema, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.source.component, host: this.source.host ?? "" },
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? "",
    });
    await this.client.create(ev);
    if (this.seen.size >= this.maxCached) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { name, namespace, count: 1 });
  }
}
