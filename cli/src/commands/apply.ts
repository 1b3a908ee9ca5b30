import type { JsonValue } from "@bufbuild/protobuf";
import { objectToJson, type KubeObject } from "@kubelab/api";
import { isNotFound } from "@kubelab/client";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { inApplyOrder, readManifests } from "../manifests.js";
import { refOf } from "../printers.js";

/** The annotation kubectl keeps the last applied manifest in, for three-way apply. */
export const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

type Json = { [k: string]: JsonValue };
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** null for every field the last apply set that this manifest no longer has (a merge patch deletes it). */
export function removals(last: Json, next: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(last)) {
    if (!(k in next)) out[k] = null;
    else if (isObject(v) && isObject(next[k])) {
      const inner = removals(v, next[k] as Json);
      if (Object.keys(inner).length) out[k] = inner;
    }
  }
  return out;
}

function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  return out;
}

/**
 * The merge patch apply sends: the whole manifest, plus deletions of what the previous apply
 * set and this one dropped. Fields the server or others set (defaults, status) stay, as with
 * kubectl apply.
 */
export function applyPatch(manifest: Json, lastApplied: Json | undefined): Json {
  return lastApplied ? deepMerge(removals(lastApplied, manifest), manifest) : manifest;
}

export async function apply(files: string[], opts: GlobalOptions): Promise<void> {
  const manifests = inApplyOrder(readManifests(files));
  const client = connect(opts);
  try {
    for (const { def, obj } of manifests) {
      const meta = obj.metadata!;
      if (def.namespaced && !meta.namespace) meta.namespace = namespaceOf(opts);
      const manifest = objectToJson(obj) as Json;
      delete manifest.status;
      const annotated = (o: Json): Json => {
        const m = (o.metadata ?? {}) as Json;
        return { ...o, metadata: { ...m, annotations: { ...((m.annotations as Json) ?? {}), [LAST_APPLIED]: JSON.stringify(manifest) } } };
      };
      let live: KubeObject | undefined;
      try {
        live = await client.get(def, meta.namespace, meta.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!live) {
        meta.annotations[LAST_APPLIED] = JSON.stringify(manifest);
        await client.create(obj);
        process.stdout.write(`${refOf(def, obj)} created\n`);
        continue;
      }
      const lastText = live.metadata?.annotations[LAST_APPLIED];
      const last = lastText ? (JSON.parse(lastText) as Json) : undefined;
      const patched = await client.patch(def, meta.namespace, meta.name, annotated(applyPatch(manifest, last)));
      const changed = patched.metadata?.resourceVersion !== live.metadata?.resourceVersion;
      process.stdout.write(`${refOf(def, obj)} ${changed ? "configured" : "unchanged"}\n`);
    }
  } finally {
    client.close();
  }
}
