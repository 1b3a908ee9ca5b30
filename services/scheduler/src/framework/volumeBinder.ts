import { clone } from "@bufbuild/protobuf";
import {
  claimRefOf,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_SELECTED_NODE,
  PersistentVolumeClaimSchema,
  PersistentVolumeSchema,
  type Node,
  type Pod,
} from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import { podVolumeClaims, volumeDecision, type VolumeListers } from "../plugins/volumeBinding.js";

/**
 * How often the binder looks whether the claims it started binding are bound: a look is a few
 * lookups in the informers' caches, so looking often costs nothing and keeps the wait from
 * adding to every pod's start (Kubernetes looks every second).
 */
const POLL_INTERVAL_MS = 20;

/**
 * kube-scheduler's VolumeBinding PreBind, after the node is chosen: a static match gets the
 * claim's claimRef (the PV controller finishes the binding), a claim to provision gets the
 * volume.kubernetes.io/selected-node annotation (its provisioner creates the volume there); then
 * the pod waits, at most bindTimeoutMs, until every claim is bound, and only then is it bound.
 * A throw sends the pod back to the queue.
 */
export async function bindPodVolumes(
  pod: Pod,
  node: Node,
  listers: VolumeListers,
  client: Pick<ApiClient, "update">,
  bindTimeoutMs: number,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  const r = podVolumeClaims(pod, listers);
  if ("error" in r) throw new Error(r.error);
  if (r.claims.toBind.length === 0) return;
  const d = volumeDecision(r.claims, node, listers);
  if ("reason" in d) throw new Error(d.reason);
  for (const { claim, volume } of d.staticBindings) {
    const next = clone(PersistentVolumeSchema, volume);
    next.spec!.claimRef = claimRefOf(claim);
    next.metadata!.annotations[ANN_BOUND_BY_CONTROLLER] = "yes";
    await client.update(next);
  }
  for (const claim of d.provision) {
    if (claim.metadata!.annotations[ANN_SELECTED_NODE] === node.metadata!.name) continue;
    const next = clone(PersistentVolumeClaimSchema, claim);
    next.metadata!.annotations[ANN_SELECTED_NODE] = node.metadata!.name;
    await client.update(next);
  }
  const ns = pod.metadata!.namespace;
  const names = r.claims.toBind.map((c) => c.metadata!.name);
  const deadline = Date.now() + bindTimeoutMs;
  for (;;) {
    const bound = names.every((n) => {
      const c = listers.claim(ns, n);
      return !!c?.spec?.volumeName && c.metadata?.annotations[ANN_BIND_COMPLETED] !== undefined;
    });
    if (bound) return;
    if (Date.now() >= deadline) throw new Error("binding volumes: context deadline exceeded");
    await sleep(POLL_INTERVAL_MS);
  }
}
