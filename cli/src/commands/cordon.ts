import type { Node } from "@kubelab/api";
import { retryOnConflict } from "@kubelab/client";
import { connect, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";

/** kubectl's words for a node's new state, or that it was in it already. */
export function cordonMessage(name: string, unschedulable: boolean, changed: boolean): string {
  const verb = unschedulable ? "cordoned" : "uncordoned";
  return `node/${name} ${changed ? verb : `already ${verb}`}`;
}

/**
 * kubectl cordon / uncordon NODE...: marks nodes unschedulable (spec.unschedulable, which the
 * scheduler's NodeUnschedulable filter honours) or schedulable again; the pods already there stay.
 */
export async function cordon(names: string[], unschedulable: boolean, opts: GlobalOptions): Promise<void> {
  if (names.length === 0) throw new UsageError("you must specify at least one node");
  const client = connect(opts);
  try {
    for (const name of names) {
      const changed = await retryOnConflict(async () => {
        const node = await client.get<Node>("nodes", "", name);
        if ((node.spec?.unschedulable ?? false) === unschedulable) return false;
        await client.patch<Node>("nodes", "", name, {
          metadata: { resourceVersion: node.metadata!.resourceVersion },
          spec: { unschedulable: unschedulable || null },
        });
        return true;
      });
      process.stdout.write(`${cordonMessage(name, unschedulable, changed)}\n`);
    }
  } finally {
    client.close();
  }
}
