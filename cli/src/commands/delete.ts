import type { KindDefinition } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";
import { readManifests } from "../manifests.js";
import { resolveKinds } from "./resolve.js";

export interface DeleteOptions extends GlobalOptions {
  filename?: string[];
  selector?: string;
  gracePeriod?: string;
  cascade?: string;
}

const POLICIES = { background: "Background", foreground: "Foreground", orphan: "Orphan" } as const;
let propagationPolicy: (typeof POLICIES)[keyof typeof POLICIES] = "Background";

async function deleteOne(client: ApiClient, def: KindDefinition, namespace: string, name: string, grace: number | undefined) {
  await client.delete(def, def.namespaced ? namespace : "", name, { gracePeriodSeconds: grace, propagationPolicy });
  const group = def.apiVersion.includes("/") ? `.${def.apiVersion.split("/")[0]}` : "";
  process.stdout.write(`${def.singular}${group} "${name}" deleted\n`);
}

export async function del(kindArg: string | undefined, names: string[], opts: DeleteOptions): Promise<void> {
  if (opts.cascade !== undefined) {
    const p = POLICIES[opts.cascade as keyof typeof POLICIES];
    if (!p) throw new UsageError(`invalid cascade value (${opts.cascade}). Must be "background", "foreground", or "orphan".`);
    propagationPolicy = p;
  }
  let grace: number | undefined;
  if (opts.gracePeriod !== undefined) {
    grace = Number(opts.gracePeriod);
    if (!Number.isInteger(grace)) throw new UsageError(`--grace-period: invalid value "${opts.gracePeriod}": must be an integer`);
    if (grace < 0) grace = undefined; // kubectl: negative means the object's own default
  }
  const client = connect(opts);
  try {
    if (opts.filename?.length) {
      for (const { def, obj } of readManifests(opts.filename)) {
        await deleteOne(client, def, obj.metadata?.namespace || namespaceOf(opts), obj.metadata!.name, grace);
      }
      return;
    }
    if (!kindArg) throw new UsageError("you must provide one or more resources by argument or filename");
    const kinds = resolveKinds(kindArg);
    if (opts.selector) {
      for (const def of kinds) {
        const ns = def.namespaced ? namespaceOf(opts) : "";
        const res = await client.listAll(def, { namespace: ns, labelSelector: opts.selector });
        if (res.items.length === 0) process.stderr.write(`No resources found\n`);
        for (const o of res.items) await deleteOne(client, def, ns, o.metadata!.name, grace);
      }
      return;
    }
    if (names.length === 0) throw new UsageError("resource(s) were provided, but no name was specified");
    for (const name of names) await deleteOne(client, kinds[0], namespaceOf(opts), name, grace);
  } finally {
    client.close();
  }
}
