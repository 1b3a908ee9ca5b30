import type { KubeObject, LabelSelector, OwnerReference } from "@kubelab/api";
import { controllerRef, refJson } from "./ownerRefs.js";

/** What a controller does with one object its selector may claim. */
export type ClaimAction = "keep" | "release" | "adopt" | "ignore";

/**
 * Kubernetes' ControllerRefManager.ClaimObject: an object this owner controls is kept while its
 * labels match and released when they no longer do (unless the owner is being deleted); an
 * object another controller controls is left alone; an orphan whose labels match is adopted,
 * unless it or the owner is being deleted.
 */
export function claimDecision(owner: KubeObject, selector: LabelSelector, obj: KubeObject): ClaimAction {
  const ref = controllerRef(obj);
  const matches = selector.matches(obj.metadata?.labels);
  const ownerDeleting = Boolean(owner.metadata?.deletionTimestamp);
  if (ref) {
    if (ref.uid !== owner.metadata?.uid) return "ignore";
    if (matches) return "keep";
    return ownerDeleting ? "ignore" : "release";
  }
  if (!matches || ownerDeleting || obj.metadata?.deletionTimestamp) return "ignore";
  return "adopt";
}

/**
 * The objects `owner` controls among `candidates`, after releasing the ones that stopped matching
 * and adopting matching orphans (with `asOwnerRef`, the reference the owner puts on what it
 * controls). `setOwners` writes an object's new ownerReferences (a merge patch with the object's
 * uid as precondition) and returns the object written, or undefined if it changed or went
 * meanwhile: the next event brings the controller back to it.
 */
export async function claimObjects<T extends KubeObject>(
  owner: KubeObject,
  asOwnerRef: OwnerReference,
  selector: LabelSelector,
  candidates: readonly T[],
  setOwners: (obj: T, ownerReferences: Record<string, unknown>[]) => Promise<T | undefined>,
): Promise<T[]> {
  const mine: T[] = [];
  for (const obj of candidates) {
    const refs = obj.metadata?.ownerReferences ?? [];
    switch (claimDecision(owner, selector, obj)) {
      case "keep":
        mine.push(obj);
        break;
      case "release":
        await setOwners(obj, refs.filter((r) => r.uid !== owner.metadata!.uid).map(refJson));
        break;
      case "adopt": {
        const adopted = await setOwners(obj, [...refs.map(refJson), refJson(asOwnerRef)]);
        if (adopted) mine.push(adopted);
        break;
      }
      case "ignore":
        break;
    }
  }
  return mine;
}
