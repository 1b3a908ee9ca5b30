import { create } from "@bufbuild/protobuf";
import { ScaleSpecSchema, type Deployment } from "@kubelab/api";
import { retryOnConflict } from "@kubelab/client";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";
import { refOf } from "../printers.js";
import { resolveKinds } from "./resolve.js";

function target(args: string[]): { resource: string; name: string } {
  const [first, second] = args;
  if (!first) throw new UsageError("required resource not specified");
  const [kind, name] = first.includes("/") ? first.split("/", 2) : [first, second];
  if (!name) throw new UsageError(`you must specify the name of the ${kind}`);
  return { resource: resolveKinds(kind!)[0]!.resource, name };
}

/** kubectl scale: spec.replicas of a Deployment or ReplicaSet. */
export async function scale(args: string[], opts: GlobalOptions & { replicas?: string }): Promise<void> {
  const { resource, name } = target(args);
  if (resource !== "deployments" && resource !== "replicasets")
    throw new UsageError(`cannot scale ${resource}: only deployments and replicasets`);
  const replicas = Number(opts.replicas);
  if (opts.replicas === undefined || !Number.isInteger(replicas) || replicas < 0)
    throw new UsageError("--replicas=COUNT is required, and COUNT must be greater than or equal to 0");
  const client = connect(opts);
  try {
    // Through the scale subresource, as kubectl scale does: only spec.replicas changes.
    const cur = await client.getScale(resource, namespaceOf(opts), name);
    cur.spec = create(ScaleSpecSchema, { replicas });
    cur.metadata!.resourceVersion = "";
    await client.updateScale(resource, cur);
    process.stdout.write(`${refOf(resolveKinds(resource)[0]!, name)} scaled\n`);
  } finally {
    client.close();
  }
}

/** kubectl set image TYPE/NAME CONTAINER=IMAGE...: a new template, so a new rollout. */
export async function setImage(args: string[], opts: GlobalOptions): Promise<void> {
  const [ref, ...pairs] = args;
  const { resource, name } = target([ref ?? ""]);
  if (pairs.length === 0) throw new UsageError("at least one image update is required: CONTAINER=IMAGE");
  const client = connect(opts);
  try {
    // The controllers write this object's status all the time: read, change and write again on a conflict.
    const obj = await retryOnConflict(async () => {
      const cur = (await client.get(resource, namespaceOf(opts), name)) as Deployment;
      const spec = cur.spec?.template?.spec;
      if (!spec) throw new UsageError(`${resource} has no pod template`);
      for (const pair of pairs) {
        const i = pair.indexOf("=");
        if (i <= 0) throw new UsageError(`invalid image update ${JSON.stringify(pair)}: must be CONTAINER=IMAGE`);
        const container = pair.slice(0, i);
        const image = pair.slice(i + 1);
        const targets =
          container === "*"
            ? [...spec.initContainers, ...spec.containers]
            : [...spec.initContainers, ...spec.containers].filter((c) => c.name === container);
        if (targets.length === 0) throw new UsageError(`unable to find container named "${container}"`);
        for (const c of targets) c.image = image;
      }
      return client.update(cur);
    });
    process.stdout.write(`${refOf(resolveKinds(resource)[0]!, obj)} image updated\n`);
  } finally {
    client.close();
  }
}
