import { isNotFound, type Node, type NodeMetrics, type Pod, type PodMetrics } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";
import { topNodesTable, topPodsTable, type TopSortBy } from "./topTables.js";

export interface TopOptions extends GlobalOptions {
  selector?: string;
  allNamespaces?: boolean;
  containers?: boolean;
  sortBy?: string;
  headers?: boolean;
}

/** kubectl's metricsCreationDelay: a pod older than this with no metrics is a problem worth naming, not a wait. */
const METRICS_CREATION_DELAY_MS = 2 * 60_000;

function sortByOf(s: string | undefined): TopSortBy {
  if (!s) return "";
  if (s !== "cpu" && s !== "memory") throw new UsageError(`--sort-by accepts only cpu or memory`);
  return s;
}

/** kubectl top node [NAME] [-l selector] [--sort-by=cpu|memory]. */
export async function topNodes(name: string | undefined, opts: TopOptions): Promise<void> {
  const sortBy = sortByOf(opts.sortBy);
  const client = connect(opts);
  try {
    const metrics: NodeMetrics[] = name
      ? [await client.get<NodeMetrics>("nodes.metrics.k8s.io", "", name)]
      : (await client.listAll<NodeMetrics>("nodes.metrics.k8s.io", { labelSelector: opts.selector })).items;
    if (metrics.length === 0) throw new UsageError("metrics not available yet");
    const nodes = name
      ? [await client.get<Node>("nodes", "", name)]
      : (await client.listAll<Node>("nodes", { labelSelector: opts.selector })).items;
    process.stdout.write(`${topNodesTable(nodes, metrics, { sortBy, headers: opts.headers !== false })}\n`);
  } finally {
    client.close();
  }
}

/** kubectl top pod [NAME] [-n NS|-A] [-l selector] [--containers] [--sort-by=cpu|memory]. */
export async function topPods(name: string | undefined, opts: TopOptions): Promise<void> {
  const sortBy = sortByOf(opts.sortBy);
  if (name && opts.allNamespaces) throw new UsageError("a resource cannot be retrieved by name across all namespaces");
  const namespace = opts.allNamespaces ? "" : namespaceOf(opts);
  const client = connect(opts);
  try {
    const metrics: PodMetrics[] = name
      ? [await client.get<PodMetrics>("pods.metrics.k8s.io", namespace, name)]
      : (await client.listAll<PodMetrics>("pods.metrics.k8s.io", { namespace, labelSelector: opts.selector })).items;
    if (metrics.length === 0) {
      await explainNoPodMetrics(client, namespace, opts.selector);
      process.stderr.write(namespace ? `No resources found in ${namespace} namespace.\n` : "No resources found\n");
      return;
    }
    const table = topPodsTable(metrics, {
      sortBy,
      headers: opts.headers !== false,
      allNamespaces: !!opts.allNamespaces,
      containers: !!opts.containers,
    });
    process.stdout.write(`${table}\n`);
  } catch (e) {
    if (name && isNotFound(e)) {
      // As kubectl: the pod itself missing is its NotFound; a pod with no reading yet is a wait.
      const pod = await client.get<Pod>("pods", namespace, name);
      throw podWithoutMetrics(pod) ?? new UsageError("metrics not available yet");
    }
    throw e;
  } finally {
    client.close();
  }
}

/** kubectl's verifyEmptyMetrics: no pods is no error; pods that are all young are "not available yet". */
async function explainNoPodMetrics(client: ApiClient, namespace: string, selector: string | undefined): Promise<void> {
  const pods = (await client.listAll<Pod>("pods", { namespace, labelSelector: selector })).items;
  if (pods.length === 0) return;
  for (const p of pods) {
    const err = podWithoutMetrics(p);
    if (err) throw err;
  }
  throw new UsageError("metrics not available yet");
}

function podWithoutMetrics(pod: Pod): UsageError | undefined {
  const ageMs = Date.now() - Date.parse(pod.metadata?.creationTimestamp ?? "");
  if (!(ageMs > METRICS_CREATION_DELAY_MS)) return undefined;
  return new UsageError(
    `Metrics not available for pod ${pod.metadata?.namespace}/${pod.metadata?.name}, age: ${Math.round(ageMs / 1000)}s`,
  );
}
