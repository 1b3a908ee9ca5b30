import type { Toleration } from "@kubelab/api";

export interface TaintLike {
  key: string;
  value: string;
  effect: string;
}

/** Kubernetes' ToleratesTaint: effect matches (or is empty), key matches (or is empty with Exists), value for Equal. */
export function tolerates(t: Toleration, taint: TaintLike): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator || "Equal";
  if (op === "Exists") return true;
  if (!t.key && op === "Equal") return false;
  return (t.value ?? "") === taint.value;
}
