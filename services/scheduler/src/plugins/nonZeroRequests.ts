import type { Resources } from "../framework/resources.js";

// Kubernetes scores a pod without requests as if it asked for 100m cpu and 200 MB, so that
// best-effort pods still spread instead of piling onto one "empty" node.
const DEFAULT_MILLI_CPU = 100;
const DEFAULT_MEMORY = 200 * 1024 * 1024;

export function nonZero(r: Resources): Resources {
  return { milliCpu: r.milliCpu || DEFAULT_MILLI_CPU, memory: r.memory || DEFAULT_MEMORY, pods: r.pods };
}

/** Fractions of allocatable cpu and memory in use once the pod is added. */
export function fractionsAfter(requested: Resources, allocatable: Resources, pod: Resources): { cpu: number; memory: number } {
  const p = nonZero(pod);
  const cpu = allocatable.milliCpu > 0 ? (requested.milliCpu + p.milliCpu) / allocatable.milliCpu : 1;
  const memory = allocatable.memory > 0 ? (requested.memory + p.memory) / allocatable.memory : 1;
  return { cpu: Math.min(1, cpu), memory: Math.min(1, memory) };
}
