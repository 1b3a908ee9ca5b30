import { resolveResource, type KindDefinition } from "@kubelab/api";
import { UsageError } from "../errors.js";

/** "po,svc" → kinds, as kubectl resolves resource names, short names and kinds. */
export function resolveKinds(arg: string): KindDefinition[] {
  return arg.split(",").map((name) => {
    const def = resolveResource(name);
    if (!def) throw new UsageError(`the server doesn't have a resource type "${name}"`);
    return def;
  });
}
