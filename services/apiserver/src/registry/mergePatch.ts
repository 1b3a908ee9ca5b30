import jsonMergePatch from "json-merge-patch";
import { decodeObject, type KindDefinition, type KubeObject } from "@kubelab/api";
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

/** RFC 7396 applied to a JSON document (an object's Kubernetes JSON, a Scale's); neither input is changed. */
export function applyMergePatch(current: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  return jsonMergePatch.apply(structuredClone(current), structuredClone(patch)) as Record<string, unknown>;
}

/**
 * A patched object's JSON, decoded as strictly as a YAML manifest: an unknown field in the patch
 * is an error naming it (or, given `droppedFields`, left out and listed there), and so is a change
 * of apiVersion or kind.
 */
export function decodePatched(def: KindDefinition, patched: unknown, droppedFields?: string[]): KubeObject {
  const o = patched as Record<string, unknown> | null;
  if (!o || typeof o !== "object" || o.kind !== def.kind || o.apiVersion !== def.apiVersion)
    throw badRequest("a patch may not change apiVersion or kind");
  const decoded = decodeObject(o, { dropUnknownFields: droppedFields !== undefined });
  // A retried patch decodes again: the list is of the last attempt's fields.
  droppedFields?.splice(0, droppedFields.length, ...decoded.unknownFields);
  return decoded.obj;
}

/** The resourceVersion a patch pins, if it names one (then a stale one is a conflict). */
export function pinnedResourceVersion(patch: Record<string, unknown>): string {
  const rv = (patch.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  return typeof rv === "string" ? rv : "";
}
