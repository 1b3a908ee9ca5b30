import jsonMergePatch from "json-merge-patch";
import { decodeObject, objectToJson, type KindDefinition, type KubeObject } from "@kubelab/api";
import { badRequest } from "../apiErrors.js";

/** Parses a JSON merge patch document: it must be a JSON object. */
export function parseMergePatch(text: string): Record<string, unknown> {
  let patch: unknown;
  try {
    patch = JSON.parse(text);
  } catch (e) {
    throw badRequest(`the patch is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) throw badRequest("a merge patch must be a JSON object");
  return patch as Record<string, unknown>;
}

/**
 * RFC 7396 applied to the object's Kubernetes JSON, then decoded as strictly as a YAML
 * manifest: an unknown field in the patch is an error naming it.
 */
export function applyMergePatch(def: KindDefinition, current: KubeObject, patch: Record<string, unknown>): KubeObject {
  const patched = jsonMergePatch.apply(objectToJson(current), structuredClone(patch)) as Record<string, unknown>;
  if (patched.kind !== def.kind || patched.apiVersion !== def.apiVersion) throw badRequest("a patch may not change apiVersion or kind");
  return decodeObject(patched).obj;
}

/** The resourceVersion a patch pins, if it names one (then a stale one is a conflict). */
export function pinnedResourceVersion(patch: Record<string, unknown>): string {
  const rv = (patch.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  return typeof rv === "string" ? rv : "";
}
