import {
  ANN_SELECTED_NODE,
  NO_PROVISIONER,
  VOLUME_BINDING_WAIT,
  claimClass,
  findMatchingVolume,
  volumeBindingMode,
  type Node,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type StorageClass,
} from "@kubelab/api";
import { fits, unfit, type CycleState, type FilterPlugin, type FilterResult } from "../framework/types.js";
import { termMatches } from "./nodeAffinity.js";

/** What the plugin reads of the cluster: the scheduler's caches of claims, volumes and classes. */
export interface VolumeListers {
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  volumes(): PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
}

/** A pod's claims, sorted by what binding them takes (PreFilter's work, once per cycle). */
export interface PodVolumeClaims {
  /** Bound claims, with their volume: its node affinity must allow the node. */
  bound: Array<{ claim: PersistentVolumeClaim; volume: PersistentVolume }>;
  /** Unbound claims of a WaitForFirstConsumer class: bound for the node the pod goes to. */
  toBind: PersistentVolumeClaim[];
}

/** What binding the pod's volumes on one node takes: volumes to bind to claims, claims to provision there. */
export interface VolumeDecision {
  staticBindings: Array<{ claim: PersistentVolumeClaim; volume: PersistentVolume }>;
  provision: PersistentVolumeClaim[];
}

export const REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict";
export const REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims";

/** Whether a volume's node affinity allows the node: no affinity, or a term of it matches. */
export function volumeFitsNode(pv: PersistentVolume, node: Node): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
  return !terms || terms.some((t) => termMatches(node, t));
}

/**
 * kube-scheduler's VolumeBinding PreFilter: every claim the pod names must exist and not be
 * going away, and an unbound one must wait for a consumer (its class's WaitForFirstConsumer) —
 * an unbound Immediate claim is the PV controller's to bind first.
 */
export function podVolumeClaims(pod: Pod, listers: VolumeListers): { claims: PodVolumeClaims } | { error: string } {
  const out: PodVolumeClaims = { bound: [], toBind: [] };
  const ns = pod.metadata?.namespace ?? "default";
  let unboundImmediate = false;
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (!name) continue;
    const claim = listers.claim(ns, name);
    if (!claim) return { error: `persistentvolumeclaim "${name}" not found` };
    if (claim.metadata?.deletionTimestamp) return { error: `persistentvolumeclaim "${name}" is being deleted` };
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      const volume = listers.volume(volumeName);
      if (!volume) return { error: `pvc(s) bound to non-existent pv(s)` };
      out.bound.push({ claim, volume });
      continue;
    }
    const sc = listers.storageClass(claimClass(claim));
    if (volumeBindingMode(sc) === VOLUME_BINDING_WAIT) out.toBind.push(claim);
    else unboundImmediate = true;
  }
  if (unboundImmediate) return { error: REASON_UNBOUND_IMMEDIATE };
  return { claims: out };
}

/**
 * kube-scheduler's VolumeBinding Filter for one node: each bound claim's volume must allow the
 * node; each claim to bind needs an available volume that fits it and the node (each volume
 * promised once), or a class whose provisioner can provision (a claim that has a selected node
 * already keeps it).
 */
export function volumeDecision(claims: PodVolumeClaims, node: Node, listers: VolumeListers): VolumeDecision | { reason: string } {
  for (const { volume } of claims.bound) if (!volumeFitsNode(volume, node)) return { reason: REASON_NODE_CONFLICT };
  const decision: VolumeDecision = { staticBindings: [], provision: [] };
  const promised = new Set<string>();
  const all = listers.volumes();
  for (const claim of claims.toBind) {
    const volume = findMatchingVolume(claim, all, { nodeFits: (pv) => volumeFitsNode(pv, node), excluded: promised });
    if (volume) {
      promised.add(volume.metadata!.name);
      decision.staticBindings.push({ claim, volume });
      continue;
    }
    const selected = claim.metadata?.annotations[ANN_SELECTED_NODE];
    const sc = listers.storageClass(claimClass(claim));
    const canProvision = !!sc && !!sc.provisioner && sc.provisioner !== NO_PROVISIONER;
    if (!canProvision || (selected && selected !== node.metadata?.name)) return { reason: REASON_BIND_CONFLICT };
    decision.provision.push(claim);
  }
  return decision;
}

const STATE_KEY = "VolumeBinding";

/** kube-scheduler's VolumeBinding plugin over the scheduler's caches. */
export function volumeBinding(listers: VolumeListers): FilterPlugin {
  return {
    name: STATE_KEY,
    preFilter(state: CycleState, pod: Pod): FilterResult {
      const r = podVolumeClaims(pod, listers);
      if ("error" in r) return unfit(r.error);
      state.write(STATE_KEY, r.claims);
      return fits;
    },
    filter(state, _pod, { node }) {
      const claims = state.read<PodVolumeClaims>(STATE_KEY);
      if (!claims || (claims.bound.length === 0 && claims.toBind.length === 0)) return fits;
      const d = volumeDecision(claims, node, listers);
      return "reason" in d ? unfit(d.reason) : fits;
    },
  };
}
