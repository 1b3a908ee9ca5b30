import { createHash } from "node:crypto";
import { toJsonString } from "@bufbuild/protobuf";
import { ContainerSchema, milliValue, wholeValue, type Container, type Pod } from "@kubelab/api";
import type { ContainerSpecForRuntime } from "../runtime/dockerRuntime.js";
import { envMap, expand } from "./envResolver.js";
import { ContainerConfigError } from "./envResolver.js";

/** A hash of the container's spec: a changed spec (a new image) means a new container. */
export function specHash(c: Container): string {
  return createHash("sha256").update(toJsonString(ContainerSchema, c)).digest("hex").slice(0, 16);
}

/** The Docker volume of an emptyDir (shared by the pod's containers, removed with the pod). */
export function emptyDirVolumeName(pod: Pod, volume: string): string {
  return `kubelab-${pod.metadata!.uid}-${volume}`;
}

function binds(pod: Pod, c: Container): string[] {
  const out: string[] = [];
  for (const m of c.volumeMounts) {
    const v = pod.spec!.volumes.find((x) => x.name === m.name);
    if (!v) throw new ContainerConfigError(`volume "${m.name}" not found in pod spec`);
    const mode = m.readOnly ? ":ro" : "";
    if (v.emptyDir) out.push(`${emptyDirVolumeName(pod, v.name)}:${m.mountPath}${mode}`);
    else if (v.hostPath) out.push(`${v.hostPath.path}:${m.mountPath}${mode}`);
    else throw new ContainerConfigError(`volume "${v.name}": only emptyDir and hostPath volumes are supported by this kubelet`);
  }
  return out;
}

/**
 * Kubernetes' container to Docker's: command replaces the image's ENTRYPOINT and args its CMD
 * (both with $(VAR) expansion); requests.cpu becomes cpu shares (the scheduler's notion made a
 * weight), limits become CFS quota and the memory cgroup limit.
 */
export function runtimeSpec(pod: Pod, c: Container, type: "init" | "app", attempt: number, env: string[]): ContainerSpecForRuntime {
  const vars = envMap(env);
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const cpuRequest = req.cpu ?? lim.cpu;
  return {
    name: c.name,
    type,
    attempt,
    specHash: specHash(c),
    gracePeriod: pod.spec?.terminationGracePeriodSeconds ?? 30,
    image: c.image,
    entrypoint: c.command.length ? c.command.map((s) => expand(s, vars)) : undefined,
    cmd: c.args.length ? c.args.map((s) => expand(s, vars)) : undefined,
    env,
    workingDir: c.workingDir || undefined,
    nanoCpus: lim.cpu ? milliValue(lim.cpu) * 1_000_000 : 0,
    // Kubernetes' MilliCPUToShares: 1024 per core, at least 2.
    cpuShares: cpuRequest ? Math.max(2, Math.floor((milliValue(cpuRequest) * 1024) / 1000)) : 2,
    memoryBytes: lim.memory ? wholeValue(lim.memory) : 0,
    binds: binds(pod, c),
    tty: c.tty,
    stdin: c.stdin,
  };
}
