import { milliValue, wholeValue, type Container, type Node, type Pod } from "@kubelab/api";

/** CPU in millicores, memory in bytes, pod slots. */
export interface Resources {
  milliCpu: number;
  memory: number;
  pods: number;
}

export const zero = (): Resources => ({ milliCpu: 0, memory: 0, pods: 0 });

function containerRequests(c: Container): Resources {
  const req = c.resources?.requests ?? {};
  // A limit without a request is the request, as Kubernetes defaults it.
  const lim = c.resources?.limits ?? {};
  const cpu = req.cpu ?? lim.cpu;
  const mem = req.memory ?? lim.memory;
  return { milliCpu: cpu ? milliValue(cpu) : 0, memory: mem ? wholeValue(mem) : 0, pods: 0 };
}

/**
 * What a pod asks of a node, computed as Kubernetes does: the sum of its app containers'
 * requests, or the largest init container's request if that is bigger (init containers run one
 * at a time, before the app containers), plus one pod slot.
 */
export function podRequests(pod: Pod): Resources {
  const sum = zero();
  for (const c of pod.spec?.containers ?? []) {
    const r = containerRequests(c);
    sum.milliCpu += r.milliCpu;
    sum.memory += r.memory;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c);
    sum.milliCpu = Math.max(sum.milliCpu, r.milliCpu);
    sum.memory = Math.max(sum.memory, r.memory);
  }
  sum.pods = 1;
  return sum;
}

export function nodeAllocatable(node: Node): Resources {
  const a = node.status?.allocatable ?? {};
  const c = node.status?.capacity ?? {};
  const pick = (k: string) => a[k] ?? c[k];
  const cpu = pick("cpu");
  const mem = pick("memory");
  const pods = pick("pods");
  return { milliCpu: cpu ? milliValue(cpu) : 0, memory: mem ? wholeValue(mem) : 0, pods: pods ? wholeValue(pods) : 110 };
}

export function add(into: Resources, r: Resources, sign = 1): void {
  into.milliCpu += sign * r.milliCpu;
  into.memory += sign * r.memory;
  into.pods += sign * r.pods;
}
