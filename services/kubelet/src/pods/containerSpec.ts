import { createHash } from "node:crypto";
import path from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { ContainerSchema, milliValue, wholeValue, type Container, type Pod } from "@kubelab/api";
import type { ContainerSpecForRuntime } from "../runtime/dockerRuntime.js";
import { envMap, expand } from "./envResolver.js";
import { ContainerConfigError } from "./envResolver.js";
import type { MountSource } from "../volumes/volumeManager.js";

/** A hash of the container's spec: a changed spec (a new image) means a new container. */
export function specHash(c: Container): string {
  return createHash("sha256").update(toJsonString(ContainerSchema, c)).digest("hex").slice(0, 16);
}

/** Propagation as Docker's bind options; None is Docker's default (rprivate). */
const PROPAGATION: Record<string, string> = { HostToContainer: "rslave", Bidirectional: "rshared" };

/**
 * The container's volumeMounts as Docker binds: the volume's source (a Docker volume by name,
 * anything else by its host path), the subPath (or subPathExpr expanded with the container's
 * environment) below it, read-only when asked, and always for the volumes the kubelet writes
 * (configMap, secret, downwardAPI, projected), as Kubernetes mounts them. A subPath is bound
 * where it points when the container starts: later swaps of ..data do not reach it, as in
 * Kubernetes.
 */
export function binds(pod: Pod, c: Container, mounts: Map<string, MountSource>, env: Map<string, string>): string[] {
  const out: string[] = [];
  for (const m of c.volumeMounts) {
    const v = pod.spec!.volumes.find((x) => x.name === m.name);
    const src = mounts.get(m.name);
    if (!v || !src) throw new ContainerConfigError(`volume "${m.name}" not found in pod spec`);
    const sub = m.subPath || (m.subPathExpr ? expand(m.subPathExpr, env) : "");
    if (sub && (path.posix.isAbsolute(sub) || sub.split("/").includes(".."))) {
      throw new ContainerConfigError(`failed to prepare subPath for volumeMount "${m.name}" of container "${c.name}"`);
    }
    const readOnly = m.readOnly || !!(v.configMap || v.secret || v.downwardApi || v.projected);
    const source = src.kind === "dockerVolume" && !sub ? src.name : path.posix.join(src.hostPath, sub);
    const options = [readOnly ? "ro" : "", PROPAGATION[m.mountPropagation] ?? ""].filter(Boolean);
    out.push(`${source}:${m.mountPath}${options.length ? `:${options.join(",")}` : ""}`);
  }
  return out;
}

/**
 * Kubernetes' container to Docker's: command replaces the image's ENTRYPOINT and args its CMD
 * (both with $(VAR) expansion); requests.cpu becomes cpu shares (the scheduler's notion made a
 * weight), limits become CFS quota and the memory cgroup limit.
 */
export function runtimeSpec(
  pod: Pod,
  c: Container,
  type: "init" | "app",
  attempt: number,
  env: string[],
  mounts: Map<string, MountSource> = new Map(),
): ContainerSpecForRuntime {
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
    binds: binds(pod, c, mounts, vars),
    tty: c.tty,
    stdin: c.stdin,
  };
}
