import { clone, equals } from "@bufbuild/protobuf";
import { PodTemplateSpecSchema, kindForResource, type Deployment, type ReplicaSet } from "@kubelab/api";
import { type ApiClient, retryOnConflict } from "@kubelab/client";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";
import { refOf } from "../printers.js";
import { resolveKinds } from "./resolve.js";

const REVISION = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE = "kubernetes.io/change-cause";
const HASH = "pod-template-hash";
const deploymentDef = () => kindForResource("deployments")!;

/** "deployment/web" or "deployment web": rollouts are of Deployments here. */
export function parseTarget(args: string[]): string {
  const [first, second] = args;
  if (!first) throw new UsageError("required resource not specified");
  const [kind, name] = first.includes("/") ? first.split("/", 2) : [first, second];
  if (!name) throw new UsageError(`you must specify the name of the ${kind}`);
  const [def] = resolveKinds(kind!);
  if (def!.resource !== "deployments") throw new UsageError(`no rollout support for ${def!.resource}: only deployments`);
  return name;
}

const revisionOf = (o: { metadata?: { annotations: Record<string, string> } }) => Number(o.metadata?.annotations[REVISION] ?? 0) || 0;

async function historyOf(client: ApiClient, d: Deployment): Promise<ReplicaSet[]> {
  const { items } = await client.listAll<ReplicaSet>("replicasets", { namespace: d.metadata!.namespace });
  return items
    .filter((rs) => rs.metadata!.ownerReferences.some((r) => r.controller && r.uid === d.metadata!.uid))
    .sort((a, b) => revisionOf(a) - revisionOf(b));
}

/** kubectl's DeploymentStatusViewer: one line per state, done when every replica is new and available. */
export function rolloutMessage(d: Deployment): { message: string; done: boolean; failed: boolean } {
  const name = d.metadata!.name;
  const s = d.status;
  if (!s || d.metadata!.generation > s.observedGeneration)
    return { message: "Waiting for deployment spec update to be observed...", done: false, failed: false };
  if (s.conditions.some((c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded")) {
    return { message: `deployment "${name}" exceeded its progress deadline`, done: true, failed: true };
  }
  const replicas = d.spec?.replicas ?? 1;
  if (s.updatedReplicas < replicas) {
    return {
      message: `Waiting for deployment "${name}" rollout to finish: ${s.updatedReplicas} out of ${replicas} new replicas have been updated...`,
      done: false,
      failed: false,
    };
  }
  if (s.replicas > s.updatedReplicas) {
    return {
      message: `Waiting for deployment "${name}" rollout to finish: ${s.replicas - s.updatedReplicas} old replicas are pending termination...`,
      done: false,
      failed: false,
    };
  }
  if (s.availableReplicas < s.updatedReplicas) {
    return {
      message: `Waiting for deployment "${name}" rollout to finish: ${s.availableReplicas} of ${s.updatedReplicas} updated replicas are available...`,
      done: false,
      failed: false,
    };
  }
  return { message: `deployment "${name}" successfully rolled out`, done: true, failed: false };
}

export async function rolloutStatus(args: string[], opts: GlobalOptions & { watch?: boolean }): Promise<void> {
  const name = parseTarget(args);
  const ns = namespaceOf(opts);
  const client = connect(opts);
  try {
    const list = await client.list<Deployment>("deployments", { namespace: ns, fieldSelector: `metadata.name=${name}` });
    let d = list.items[0];
    if (!d) await client.get("deployments", ns, name); // the server's NotFound wording
    let last = "";
    const show = (dep: Deployment) => {
      const r = rolloutMessage(dep);
      if (r.message !== last && !(r.failed && r.done)) process.stdout.write(`${r.message}\n`);
      last = r.message;
      if (r.failed) throw new Error(r.message);
      return r.done;
    };
    if (show(d!) || opts.watch === false) return;
    const stream = client.watch<Deployment>("deployments", {
      namespace: ns,
      fieldSelector: `metadata.name=${name}`,
      resourceVersion: list.resourceVersion,
    });
    try {
      for await (const ev of stream) {
        if (ev.type === "DELETED") throw new Error(`deployment "${name}" was deleted`);
        if (ev.type === "BOOKMARK") continue;
        d = ev.object;
        if (show(d)) return;
      }
    } finally {
      stream.stop();
    }
  } finally {
    client.close();
  }
}

export async function rolloutHistory(args: string[], opts: GlobalOptions & { revision?: string }): Promise<void> {
  const name = parseTarget(args);
  const client = connect(opts);
  try {
    const d = await client.get<Deployment>("deployments", namespaceOf(opts), name);
    const history = await historyOf(client, d);
    if (opts.revision) {
      const rs = history.find((r) => revisionOf(r) === Number(opts.revision));
      if (!rs) throw new Error(`unable to find the specified revision ${opts.revision}`);
      const t = rs.spec!.template!;
      const lines = [
        `${refOf(deploymentDef(), name)} with revision #${opts.revision}`,
        "Pod Template:",
        `  Labels:\t${Object.entries(t.metadata?.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(",")}`,
      ];
      for (const c of t.spec?.containers ?? []) lines.push(`  Containers:`, `   ${c.name}:`, `    Image:\t${c.image}`);
      process.stdout.write(`${lines.join("\n")}\n`);
      return;
    }
    const rows = history.map((rs) => `${String(revisionOf(rs)).padEnd(10)}${rs.metadata!.annotations[CHANGE_CAUSE] || "<none>"}`);
    process.stdout.write(`${[`${refOf(deploymentDef(), name)} `, "REVISION  CHANGE-CAUSE", ...rows, ""].join("\n")}\n`);
  } finally {
    client.close();
  }
}

/** kubectl rollout undo: the Deployment's template becomes that of the previous (or a given) revision. */
export async function rolloutUndo(args: string[], opts: GlobalOptions & { toRevision?: string }): Promise<void> {
  const name = parseTarget(args);
  const client = connect(opts);
  try {
    const result = await retryOnConflict(async () => {
      const d = await client.get<Deployment>("deployments", namespaceOf(opts), name);
      const history = await historyOf(client, d);
      const current = revisionOf(d);
      const want = opts.toRevision !== undefined && Number(opts.toRevision) !== 0 ? Number(opts.toRevision) : undefined;
      const target =
        want !== undefined ? history.find((rs) => revisionOf(rs) === want) : [...history].reverse().find((rs) => revisionOf(rs) < current);
      if (!target)
        throw new Error(
          want !== undefined ? `unable to find specified revision ${want} in history` : `no rollout history found for deployment "${name}"`,
        );
      const template = clone(PodTemplateSpecSchema, target.spec!.template!);
      delete template.metadata!.labels[HASH];
      if (equals(PodTemplateSpecSchema, template, d.spec!.template!)) return { skipped: revisionOf(target) };
      d.spec!.template = template;
      await client.update(d);
      return { skipped: undefined };
    });
    if (result.skipped !== undefined) {
      process.stdout.write(
        `${refOf(deploymentDef(), name)} skipped rollback (current template already matches revision ${result.skipped})\n`,
      );
      return;
    }
    process.stdout.write(`${refOf(deploymentDef(), name)} rolled back\n`);
  } finally {
    client.close();
  }
}

export async function rolloutPatch(args: string[], opts: GlobalOptions, what: "pause" | "resume" | "restart"): Promise<void> {
  const name = parseTarget(args);
  const client = connect(opts);
  try {
    const d = await client.get<Deployment>("deployments", namespaceOf(opts), name);
    const ref = refOf(deploymentDef(), name);
    if (what === "restart") {
      await client.patch("deployments", namespaceOf(opts), name, {
        spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } } } },
      });
      process.stdout.write(`${ref} restarted\n`);
      return;
    }
    const paused = what === "pause";
    if ((d.spec?.paused ?? false) === paused) throw new Error(`${ref} is ${paused ? "already paused" : "not paused"}`);
    await client.patch("deployments", namespaceOf(opts), name, { spec: { paused } });
    process.stdout.write(`${ref} ${paused ? "paused" : "resumed"}\n`);
  } finally {
    client.close();
  }
}
