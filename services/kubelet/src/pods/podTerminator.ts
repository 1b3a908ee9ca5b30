import type { Container, LifecycleHandler, Pod } from "@kubelab/api";
import type { EventRecorder } from "@kubelab/client";
import type { DockerRuntime, RuntimeContainer } from "../runtime/dockerRuntime.js";
import { execProbe, httpGet, tcpSocket } from "../probes/probeRunner.js";

/**
 * The kubelet's killContainer: the preStop hook runs first (within the grace period), then
 * SIGTERM, then SIGKILL when the rest of the grace period is over.
 */
export class PodTerminator {
  constructor(
    private readonly runtime: DockerRuntime,
    private readonly recorder: EventRecorder,
  ) {}

  async killContainer(pod: Pod | undefined, rc: RuntimeContainer, graceSeconds: number, reason: string, podIP: string): Promise<void> {
    const spec = pod?.spec?.containers.find((c) => c.name === rc.name) ?? pod?.spec?.initContainers.find((c) => c.name === rc.name);
    const fp = spec ? `spec.${pod!.spec!.containers.includes(spec) ? "containers" : "initContainers"}{${spec.name}}` : "";
    if (pod && spec && rc.state === "running") this.recorder.event(pod, "Normal", "Killing", reason || `Stopping container ${rc.name}`, fp);
    const deadline = Date.now() + graceSeconds * 1000;
    const preStop = spec?.lifecycle?.preStop;
    if (pod && spec && preStop && rc.state === "running" && graceSeconds > 0) {
      const failure = await this.runHook(preStop, spec, rc, podIP, graceSeconds * 1000);
      if (failure) {
        this.recorder.event(pod, "Warning", "FailedPreStopHook", `PreStopHook failed: ${failure}`, fp);
      }
    }
    const left = Math.max(0, (deadline - Date.now()) / 1000);
    // Kubernetes gives at least 2 s after a hook that used up the whole grace period.
    await this.runtime.stop(rc.id, preStop && graceSeconds > 0 ? Math.max(2, left) : left);
  }

  /** Runs a lifecycle hook; the failure's text, or undefined when it succeeded. */
  private async runHook(
    hook: LifecycleHandler,
    c: Container,
    rc: RuntimeContainer,
    podIP: string,
    timeoutMs: number,
  ): Promise<string | undefined> {
    const target = { podIP, container: c, exec: (cmd: string[], ms: number) => this.runtime.exec(rc.id, cmd, ms) };
    if (hook.exec) {
      const o = await execProbe(hook.exec.command, target, timeoutMs);
      return o.ok ? undefined : o.message;
    }
    if (hook.httpGet) {
      const o = await httpGet(hook.httpGet, target, timeoutMs);
      return o.ok ? undefined : o.message;
    }
    if (hook.tcpSocket) {
      const o = await tcpSocket(hook.tcpSocket, target, timeoutMs);
      return o.ok ? undefined : o.message;
    }
    if (hook.sleep) {
      await new Promise((r) => setTimeout(r, Math.min(Number(hook.sleep!.seconds) * 1000, timeoutMs)));
    }
    return undefined;
  }

  /** Every container of the pod, app containers first (in parallel), then the sandbox. */
  async killPod(pod: Pod | undefined, containers: RuntimeContainer[], graceSeconds: number, podIP: string): Promise<void> {
    const running = containers.filter((c) => c.state === "running" || c.state === "created" || c.state === "restarting");
    await Promise.all(running.filter((c) => c.type !== "sandbox").map((c) => this.killContainer(pod, c, graceSeconds, "", podIP)));
    await Promise.all(running.filter((c) => c.type === "sandbox").map((c) => this.runtime.stop(c.id, 0)));
  }
}
