import { clone, toJsonString } from "@bufbuild/protobuf";
import { PodTemplateSpecSchema, type PodTemplateSpec } from "@kubelab/api";

export const POD_TEMPLATE_HASH = "pod-template-hash";

// Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alikes, so names never spell words.
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** FNV-1a, 32 bits: the hash Kubernetes uses for pod-template-hash. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The pod-template-hash of a template (with the collision count mixed in, as Kubernetes does). */
export function podTemplateHash(template: PodTemplateSpec, collisionCount = 0): string {
  const t = withoutHashLabel(template);
  const digits = String(fnv32a(toJsonString(PodTemplateSpecSchema, t) + (collisionCount ? `#${collisionCount}` : "")));
  return [...digits].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join("");
}

/** The template as the Deployment has it: without the pod-template-hash its ReplicaSet adds. */
export function withoutHashLabel(template: PodTemplateSpec): PodTemplateSpec {
  const t = clone(PodTemplateSpecSchema, template);
  if (t.metadata?.labels) delete t.metadata.labels[POD_TEMPLATE_HASH];
  return t;
}
