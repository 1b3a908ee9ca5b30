import { clone, create } from "@bufbuild/protobuf";
import { PodSchema, PodSpecSchema, type KubeObject, type OwnerReference, type Pod, type PodTemplateSpec } from "@kubelab/api";
import { isNotFound, type ApiClient, type EventRecorder } from "@kubelab/client";

/** Creates and deletes pods for a controller, with its events (SuccessfulCreate, SuccessfulDelete). */
export class PodControl {
  constructor(
    private readonly client: ApiClient,
    private readonly recorder: EventRecorder,
  ) {}

  /** A pod from the template: generated name "<owner>-", the template's labels, the owner's controller reference. */
  async create(owner: KubeObject, template: PodTemplateSpec, ref: OwnerReference, extraLabels: Record<string, string> = {}): Promise<Pod> {
    const m = template.metadata;
    const pod = create(PodSchema, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${owner.metadata!.name}-`,
        namespace: owner.metadata!.namespace,
        labels: { ...(m?.labels ?? {}), ...extraLabels },
        annotations: { ...(m?.annotations ?? {}) },
        ownerReferences: [ref],
        finalizers: [...(m?.finalizers ?? [])],
      },
      spec: template.spec ? clone(PodSpecSchema, template.spec) : undefined,
    });
    try {
      const created = await this.client.create(pod);
      this.recorder.event(owner, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata!.name}`);
      return created;
    } catch (e) {
      this.recorder.event(owner, "Warning", "FailedCreate", `Error creating: ${(e as Error).message}`);
      throw e;
    }
  }

  async delete(owner: KubeObject, pod: Pod): Promise<void> {
    try {
      await this.client.delete("pods", pod.metadata!.namespace, pod.metadata!.name, { preconditions: { uid: pod.metadata!.uid } });
      this.recorder.event(owner, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata!.name}`);
    } catch (e) {
      if (isNotFound(e)) return;
      this.recorder.event(owner, "Warning", "FailedDelete", `Error deleting: ${(e as Error).message}`);
      throw e;
    }
  }
}

/** Kubernetes' slowStartBatch: 1, 2, 4... at a time, stopping at the first failure. */
export async function slowStartBatch(count: number, fn: () => Promise<unknown>): Promise<{ done: number; error?: unknown }> {
  let done = 0;
  for (let batch = 1; done < count; batch *= 2) {
    const n = Math.min(batch, count - done);
    const results = await Promise.allSettled(Array.from({ length: n }, fn));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    done += ok;
    const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
    if (failed) return { done, error: failed.reason };
  }
  return { done };
}
