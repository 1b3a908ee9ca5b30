import { ignoreNotFound, type KubeObject } from "@kubelab/api";
import type { ApiClient } from "./apiClient.js";

/**
 * Writes `status` as an object's status subresource, whatever version of it the caller read (no
 * resourceVersion: a controller owns the status it writes, as Kubernetes' controllers update
 * status unconditionally), and leaves it when the object is gone. The object read is not changed.
 */
export function writeStatus<T extends KubeObject & { status?: unknown }>(
  client: Pick<ApiClient, "updateStatus">,
  obj: T,
  status: NonNullable<T["status"]>,
): Promise<T | undefined> {
  return ignoreNotFound(client.updateStatus({ ...obj, metadata: { ...obj.metadata!, resourceVersion: "" }, status }));
}
