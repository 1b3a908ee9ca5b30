import {
  accessModesShort,
  claimClass,
  isDefaultStorageClass,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type StorageClass,
} from "@kubelab/api";

const orNone = (s: string) => s || "<none>";
const row = (label: string, value: string, width: number) => `${`${label}:`.padEnd(width)}${value}`;
const mapText = (m: Record<string, string>) => {
  const entries = Object.entries(m);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(",") : "<none>";
};

/** kubectl describe pv's body after the metadata: class, phase, claim, policy, modes, size, affinity and the source. */
export function pvDetails(pv: PersistentVolume): string[] {
  const s = pv.spec;
  const w = 17;
  const lines = [
    row("Finalizers", `[${(pv.metadata?.finalizers ?? []).join(" ")}]`, w),
    row("StorageClass", s?.storageClassName ?? "", w),
    row("Status", pv.metadata?.deletionTimestamp ? "Terminating" : (pv.status?.phase ?? ""), w),
    row("Claim", s?.claimRef ? `${s.claimRef.namespace}/${s.claimRef.name}` : "", w),
    row("Reclaim Policy", s?.persistentVolumeReclaimPolicy ?? "", w),
    row("Access Modes", accessModesShort(s?.accessModes ?? []), w),
    row("VolumeMode", s?.volumeMode ?? "", w),
    row("Capacity", s?.capacity.storage ?? "", w),
  ];
  const terms = s?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  if (terms.length === 0) lines.push(row("Node Affinity", "<none>", w));
  else {
    lines.push(row("Node Affinity", "", w), row("  Required Terms", "", w));
    terms.forEach((t, i) => {
      const exprs = t.matchExpressions.map((r) => `${r.key} ${r.operator.toLowerCase()} [${r.values.join(" ")}]`).join(", ");
      lines.push(row(`    Term ${i}`, exprs, w));
    });
  }
  lines.push(row("Message", pv.status?.message ?? "", w), "Source:");
  if (s?.local) lines.push("    Type:  LocalVolume (a persistent volume backed by local storage on a node)", `    Path:  ${s.local.path}`);
  if (s?.hostPath)
    lines.push(
      "    Type:          HostPath (bare host directory volume)",
      `    Path:          ${s.hostPath.path}`,
      `    HostPathType:  ${s.hostPath.type}`,
    );
  return lines;
}

/** kubectl describe pvc's body: class, phase, volume, size, modes, and the pods that use it. */
export function pvcDetails(pvc: PersistentVolumeClaim, usedBy: string[]): string[] {
  const w = 15;
  const bound = !!pvc.spec?.volumeName;
  return [
    row("StorageClass", claimClass(pvc), w),
    row("Status", pvc.metadata?.deletionTimestamp ? "Terminating" : (pvc.status?.phase ?? ""), w),
    row("Volume", pvc.spec?.volumeName ?? "", w),
    row("Finalizers", `[${(pvc.metadata?.finalizers ?? []).join(" ")}]`, w),
    row("Capacity", bound ? (pvc.status?.capacity.storage ?? "") : "", w),
    row("Access Modes", bound ? accessModesShort(pvc.status?.accessModes ?? []) : "", w),
    row("VolumeMode", pvc.spec?.volumeMode ?? "", w),
    row("Used By", orNone(usedBy.join(`\n${" ".repeat(w)}`)), w),
  ];
}

/** kubectl describe storageclass's body. */
export function storageClassDetails(sc: StorageClass): string[] {
  const w = 23;
  return [
    row("IsDefaultClass", isDefaultStorageClass(sc) ? "Yes" : "No", w),
    row("Provisioner", sc.provisioner, w),
    row("Parameters", mapText(sc.parameters), w),
    row("AllowVolumeExpansion", sc.allowVolumeExpansion === undefined ? "<unset>" : sc.allowVolumeExpansion ? "True" : "False", w),
    row("MountOptions", orNone(sc.mountOptions.join(", ")), w),
    row("ReclaimPolicy", sc.reclaimPolicy ?? "", w),
    row("VolumeBindingMode", sc.volumeBindingMode ?? "", w),
  ];
}
