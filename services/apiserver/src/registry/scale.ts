import { scaleOf, type Scalable, type Scale } from "@kubelab/api";
import { invalidScale, notFoundResource } from "../apiErrors.js";
import type { ObjectService, WriteOptions } from "./objectService.js";

/** The kinds with a scale subresource here (Kubernetes also gives it to StatefulSets and ReplicationControllers). */
const SCALABLE = new Set(["deployments", "replicasets"]);

function scalableDef(service: ObjectService, resource: string) {
  const def = service.resolve(resource);
  if (!SCALABLE.has(def.resource)) throw notFoundResource(`${def.resource}/scale`);
  return def;
}

export async function getScale(service: ObjectService, resource: string, namespace: string, name: string): Promise<Scale> {
  const def = scalableDef(service, resource);
  return scaleOf((await service.get(def, namespace, name)) as Scalable);
}

/**
 * Sets the target's spec.replicas, nothing else, through the object's own update path (its
 * defaulting, validation and optimistic concurrency); a resourceVersion in the Scale pins the write
 * to that version of the target, as Kubernetes' scale subresource does.
 */
export async function updateScale(
  service: ObjectService,
  resource: string,
  scale: Scale | undefined,
  opts: Pick<WriteOptions, "dryRun"> = {},
): Promise<Scale> {
  const def = scalableDef(service, resource);
  const name = scale?.metadata?.name ?? "";
  const replicas = scale?.spec?.replicas ?? 0;
  if (!name) throw invalidScale(name, "metadata.name", name, "name or generateName is required");
  if (replicas < 0) throw invalidScale(name, "spec.replicas", replicas, "must be greater than or equal to 0");
  const patch: Record<string, unknown> = { spec: { replicas } };
  const rv = scale?.metadata?.resourceVersion;
  if (rv) patch.metadata = { resourceVersion: rv };
  const updated = await service.patch(def, scale?.metadata?.namespace ?? "", name, JSON.stringify(patch), "", opts);
  return scaleOf(updated as Scalable);
}
