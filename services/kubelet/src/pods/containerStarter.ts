import type { Container, Pod } from "@kubelab/api";
import type { ApiClient, EventRecorder } from "@kubelab/client";
import type { DockerRuntime } from "../runtime/dockerRuntime.js";
import type { Backoff } from "./backoff.js";
import { runtimeSpec } from "./containerSpec.js";
import { ContainerConfigError, resolveEnv } from "./envResolver.js";
import type { Waiting } from "./podStatus.js";
import type { MountSource } from "../volumes/volumeManager.js";

export interface StartContext {
  pod: Pod;
  sandboxId: string;
  /** Resolves when the sandbox runs: containers are created meanwhile and started after. */
  sandboxStarted: Promise<void>;
  podIP: () => Promise<string>;
  hostIP: string;
  /** The pod's volumes, set up. */
  mounts: Map<string, MountSource>;
}

export type StartResult = { started: true; id: string } | { started: false; waiting: Waiting; retryInMs?: number };

const fieldPath = (c: Container, type: "init" | "app") => {
  const list = type === "init" ? "initContainers" : "containers";
  return `spec.${list}{${c.name}}`;
};

/** Takes a container from image to running, with the kubelet's events and waiting reasons. */
export class ContainerStarter {
  constructor(
    private readonly runtime: DockerRuntime,
    private readonly client: ApiClient,
    private readonly recorder: EventRecorder,
    private readonly pullBackoff: Backoff,
  ) {}

  /** Pull policy as Kubernetes has it; an image that cannot be had ends in ErrImagePull, then ImagePullBackOff. */
  private async ensureImage(pod: Pod, c: Container, fp: string): Promise<Waiting | { retryInMs: number; waiting: Waiting } | undefined> {
    const policy = c.imagePullPolicy || (c.image.endsWith(":latest") || !/:[^/]+$/.test(c.image) ? "Always" : "IfNotPresent");
    const present = policy === "Always" ? false : await this.runtime.imagePresent(c.image);
    if (present) {
      this.recorder.event(pod, "Normal", "Pulled", `Container image "${c.image}" already present on machine`, fp);
      return undefined;
    }
    if (policy === "Never") {
      const message = `Container image "${c.image}" is not present with pull policy of Never`;
      this.recorder.event(pod, "Warning", "ErrImageNeverPull", message, fp);
      return { reason: "ErrImageNeverPull", message };
    }
    const key = `${pod.metadata!.uid}/${c.name}/${c.image}`;
    const wait = this.pullBackoff.remaining(key);
    if (wait > 0) {
      const message = `Back-off pulling image "${c.image}"`;
      this.recorder.event(pod, "Normal", "BackOff", message, fp);
      return { retryInMs: wait, waiting: { reason: "ImagePullBackOff", message } };
    }
    this.recorder.event(pod, "Normal", "Pulling", `Pulling image "${c.image}"`, fp);
    const t0 = Date.now();
    try {
      await this.runtime.pull(c.image);
    } catch (e) {
      this.pullBackoff.next(key);
      const message = `Failed to pull image "${c.image}": ${(e as Error).message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim()}`;
      this.recorder.event(pod, "Warning", "Failed", message, fp);
      this.recorder.event(pod, "Warning", "Failed", "Error: ErrImagePull", fp);
      return { retryInMs: this.pullBackoff.remaining(key), waiting: { reason: "ErrImagePull", message } };
    }
    this.pullBackoff.reset(key);
    this.recorder.event(pod, "Normal", "Pulled", `Successfully pulled image "${c.image}" in ${((Date.now() - t0) / 1000).toFixed(3)}s`, fp);
    return undefined;
  }

  async start(ctx: StartContext, c: Container, type: "init" | "app", attempt: number): Promise<StartResult> {
    const { pod } = ctx;
    const fp = fieldPath(c, type);
    const image = await this.ensureImage(pod, c, fp);
    if (image) return "retryInMs" in image ? { started: false, ...image } : { started: false, waiting: image };

    let env: string[];
    let spec: ReturnType<typeof runtimeSpec>;
    try {
      env = await resolveEnv(this.client, pod, c, { podIP: ctx.podIP, hostIP: ctx.hostIP });
      spec = runtimeSpec(pod, c, type, attempt, env, ctx.mounts);
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      this.recorder.event(pod, "Warning", "Failed", `Error: ${e.message}`, fp);
      return { started: false, waiting: { reason: "CreateContainerConfigError", message: e.message }, retryInMs: 10_000 };
    }
    let id: string;
    try {
      // Docker only needs the sandbox to exist to create a container joining its network.
      id = await this.runtime.createContainer(pod.metadata! as { name: string; namespace: string; uid: string }, ctx.sandboxId, spec);
    } catch (e) {
      const message = (e as Error).message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
      this.recorder.event(pod, "Warning", "Failed", `Error: ${message}`, fp);
      return { started: false, waiting: { reason: "CreateContainerError", message }, retryInMs: 10_000 };
    }
    this.recorder.event(pod, "Normal", "Created", `Created container ${c.name}`, fp);
    try {
      await ctx.sandboxStarted;
      await this.runtime.start(id);
    } catch (e) {
      // The container exists, never started: its status says StartError and the restart policy decides.
      const message = (e as Error).message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
      this.recorder.event(pod, "Warning", "Failed", `Error: failed to start container "${c.name}": ${message}`, fp);
      return { started: true, id };
    }
    this.recorder.event(pod, "Normal", "Started", `Started container ${c.name}`, fp);
    return { started: true, id };
  }
}
