import { create, equals } from "@bufbuild/protobuf";
import { PodSchema, PodStatusSchema, type Container, type Pod, formatTime } from "@kubelab/api";
import { ignoreNotFound, type ApiClient, type EventRecorder, type Informer, type WorkQueue } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import type { DockerRuntime, RuntimeContainer } from "../runtime/dockerRuntime.js";
import type { ProbeManager } from "../probes/probeManager.js";
import { Backoff } from "./backoff.js";
import { ContainerStarter } from "./containerStarter.js";
import { specHash } from "./containerSpec.js";
import { type MountSource, type VolumeManager, VolumeMountError } from "../volumes/volumeManager.js";
import { PodTerminator } from "./podTerminator.js";
import { computePodStatus, isExited, type Waiting } from "./podStatus.js";
import { planContainers, planSandbox, type ContainerAction } from "./podSyncPlan.js";

export interface PodSyncerOptions {
  nodeName: string;
  hostIP: string;
  pauseImage: string;
  crashLoopBackOffBaseMs: number;
  crashLoopBackOffMaxMs: number;
  imagePullBackOffBaseMs: number;
  imagePullBackOffMaxMs: number;
  /** The cluster DNS server's address, if the cluster has one. */
  clusterDns?: string;
  clusterDomain: string;
}

/** When a pod whose volumes cannot be set up is tried again (besides every resync). */
const VOLUME_RETRY_MS = 5_000;

/** Exited attempts kept per container: the last one is what `logs --previous` reads. */
const KEEP_EXITED = 1;

/** The sandbox the containers of one sync run in. */
interface SandboxInUse {
  id: string;
  /** Resolves once it runs and is wired; rejects when it cannot start. */
  started: Promise<void>;
  ip: () => Promise<string>;
}

const crashKey = (pod: Pod, c: Container) => `${pod.metadata!.uid}/${c.name}`;
/** When a container finished, for its back-off (now, if Docker does not say). */
const finishedAt = (c: RuntimeContainer) => Date.parse(c.finishedAt) || Date.now();
const newestSandbox = (sandboxes: RuntimeContainer[]) => [...sandboxes].sort((a, b) => b.attempt - a.attempt)[0];

/**
 * The kubelet's syncPod, level-triggered: for one pod, compare the pod object with what Docker
 * runs, take the next steps (sandbox, init containers in order, app containers, restarts with
 * back-off, probe-driven restarts, graceful termination), then write the status if it changed.
 * Called for a pod's key whenever the pod, its containers or its probes change, and periodically.
 */
export class PodSyncer {
  private readonly waiting = new Map<string, Map<string, Waiting>>();
  /** The last volumes set up for each pod uid: kept when a later refresh fails, as Kubernetes keeps a mounted volume's files. */
  private readonly mounted = new Map<string, Map<string, MountSource>>();
  private readonly crashBackoff: Backoff;
  private readonly starter: ContainerStarter;
  readonly terminator: PodTerminator;

  constructor(
    private readonly opts: PodSyncerOptions,
    private readonly client: ApiClient,
    private readonly runtime: DockerRuntime,
    private readonly informer: Informer<Pod>,
    private readonly queue: WorkQueue<string>,
    private readonly probes: ProbeManager,
    private readonly recorder: EventRecorder,
    private readonly log: Logger,
    private readonly volumes: VolumeManager,
  ) {
    this.crashBackoff = new Backoff(opts.crashLoopBackOffBaseMs, opts.crashLoopBackOffMaxMs);
    this.starter = new ContainerStarter(runtime, client, recorder, new Backoff(opts.imagePullBackOffBaseMs, opts.imagePullBackOffMaxMs));
    this.terminator = new PodTerminator(runtime, recorder);
  }

  /**
   * Syncs one pod: observe what Docker runs for it, plan the sandbox step and then the container
   * step (podSyncPlan.ts), carry the plan out, and write the status. What is left to wait for (a
   * back-off, an image pull) brings the pod back after it.
   */
  async sync(key: string): Promise<void> {
    const pod = this.informer.get(key);
    if (!pod || pod.spec?.nodeName !== this.opts.nodeName) return; // housekeeping removes what is left
    const uid = pod.metadata!.uid;
    const all = await this.runtime.list(uid);
    const sandboxes = all.filter((c) => c.type === "sandbox");
    const step = planSandbox(pod, sandboxes);
    if (step.kind === "terminate") return this.terminate(pod, all, newestSandbox(sandboxes)?.ip ?? pod.status?.podIp ?? "");
    if (step.kind === "finished") {
      await this.terminator.killPod(pod, all, 0, newestSandbox(sandboxes)?.ip ?? "");
      this.probes.removePod(uid);
      return;
    }

    const waiting = this.waitingOf(uid);
    const mounts = await this.setUpVolumes(pod);
    if (!mounts)
      return this.postPodStatus(
        pod,
        all.filter((c) => c.type !== "sandbox"),
        newestSandbox(sandboxes)?.ip ?? "",
        waiting,
      );
    let sandbox: SandboxInUse;
    let containers = all.filter((c) => c.type !== "sandbox");
    if (step.kind === "keep") {
      sandbox = { id: step.sandbox.id, started: this.runtime.ensureWired(step.sandbox.id), ip: async () => step.sandbox.ip };
    } else {
      const created = await this.recreateSandbox(pod, all, step.replacing, this.volumes.sandboxBinds(pod, mounts));
      if (!created) return this.postPodStatus(pod, containers, "", waiting);
      if (step.replacing) containers = (await this.runtime.list(uid)).filter((c) => c.type !== "sandbox");
      sandbox = this.startSandbox(pod, created);
    }
    // A sandbox that fails to start fails every container start: the next sync makes a new one.
    sandbox.started.catch(() => undefined);

    const plan = planContainers({
      pod,
      containers,
      restartReason: (c, running) => this.restartReason(pod, c, running),
      crashBackoffMs: (c, exited) => this.crashBackoff.remaining(crashKey(pod, c), finishedAt(exited)),
    });
    if (plan.actions.some((a) => a.kind !== "settled")) {
      this.log.debug("pod sync planned", {
        pod: key,
        sandbox: step.kind,
        actions: plan.actions.map((a) => `${a.kind} ${a.container.name}`),
        podFailed: plan.podFailed,
      });
    }
    const { acted, retryInMs } = await this.carryOut(pod, plan.actions, sandbox, waiting, mounts);

    await sandbox.started.catch(() => undefined);
    const afterAll = acted || step.kind === "create" ? await this.runtime.list(uid) : all;
    const after = afterAll.filter((c) => c.type !== "sandbox");
    const sandboxIP = afterAll.find((c) => c.id === sandbox.id)?.ip ?? "";
    await this.pruneAttempts(after);
    const running = new Map<string, { id: string; startedAt: string }>();
    for (const c of after) if (c.state === "running" && c.type === "app") running.set(c.name, { id: c.id, startedAt: c.startedAt });
    this.probes.sync(pod, running, (c) => ({
      podIP: sandboxIP,
      container: c,
      exec: (cmd, ms) => this.runtime.exec(running.get(c.name)!.id, cmd, ms),
    }));
    await this.postPodStatus(pod, after, sandboxIP, waiting);
    if (retryInMs !== undefined) this.queue.addAfter(key, retryInMs + 50);
  }

  /**
   * The pod's volumes, set up or refreshed (new ConfigMap, Secret or label contents) on every
   * sync. One that cannot be set up is a FailedMount event, and the pod's containers do not start
   * until it can (a pod already running keeps the files it had).
   */
  private async setUpVolumes(pod: Pod): Promise<Map<string, MountSource> | undefined> {
    const m = pod.metadata!;
    try {
      const mounts = await this.volumes.setUp(pod);
      this.mounted.set(m.uid, mounts);
      return mounts;
    } catch (e) {
      if (!(e instanceof VolumeMountError)) throw e;
      this.recorder.event(pod, "Warning", "FailedMount", e.message);
      this.queue.addAfter(`${m.namespace}/${m.name}`, VOLUME_RETRY_MS);
      return this.mounted.get(m.uid);
    }
  }

  /** Starts a new sandbox; its address comes from the network plugin's wiring, or from Docker. */
  private startSandbox(pod: Pod, id: string): SandboxInUse {
    const wired = this.runtime.startSandbox(id).catch((e: Error) => this.sandboxFailed(pod, e));
    let ip: Promise<string> | undefined;
    return {
      id,
      started: wired.then(() => undefined),
      ip: () => (ip ??= wired.then(async (plugged) => plugged ?? (await this.runtime.inspect(id))?.ip ?? "")),
    };
  }

  /**
   * Carries out the container step's actions: back-offs become the container's waiting reason
   * and a BackOff event, starts and restarts go to Docker. Returns whether Docker was asked to
   * change anything, and when the pod should be synced again.
   */
  private async carryOut(
    pod: Pod,
    actions: ContainerAction[],
    sandbox: SandboxInUse,
    waiting: Map<string, Waiting>,
    mounts: Map<string, MountSource>,
  ): Promise<{ acted: boolean; retryInMs?: number }> {
    let acted = false;
    let retryInMs: number | undefined;
    const retryIn = (ms: number | undefined) => {
      if (ms !== undefined && ms > 0) retryInMs = retryInMs === undefined ? ms : Math.min(retryInMs, ms);
    };
    const ctx = { pod, sandboxId: sandbox.id, sandboxStarted: sandbox.started, podIP: sandbox.ip, hostIP: this.opts.hostIP, mounts };
    const start = async (c: Container, type: "init" | "app", attempt: number) => {
      acted = true;
      const r = await this.starter.start(ctx, c, type, attempt);
      if (r.started) waiting.delete(c.name);
      else {
        waiting.set(c.name, r.waiting);
        retryIn(r.retryInMs);
      }
    };
    for (const a of actions) {
      switch (a.kind) {
        case "settled":
          waiting.delete(a.container.name);
          break;
        case "backOff":
          this.backingOff(pod, a.container);
          waiting.set(a.container.name, { reason: "CrashLoopBackOff", message: this.backOffMessage(pod, a.container) });
          retryIn(a.waitMs);
          break;
        case "start":
          // The first restart after a crash is immediate; each later one waits twice as long.
          if (a.afterExit) this.crashBackoff.next(crashKey(pod, a.container), finishedAt(a.afterExit));
          await start(a.container, a.type, a.attempt);
          break;
        case "restart":
          acted = true;
          await this.terminator.killContainer(pod, a.running, pod.spec!.terminationGracePeriodSeconds ?? 30, a.reason, await sandbox.ip());
          // Killed on purpose: it starts again now, whatever the restart policy says.
          await start(a.container, "app", a.running.attempt + 1);
          break;
      }
    }
    return { acted, retryInMs };
  }

  private waitingOf(uid: string): Map<string, Waiting> {
    let w = this.waiting.get(uid);
    if (!w) this.waiting.set(uid, (w = new Map()));
    return w;
  }

  /** Why a running container must be restarted now: a failed liveness/startup probe, a new spec. */
  private restartReason(pod: Pod, c: Container, cur: RuntimeContainer): string | undefined {
    const probe = this.probes.mustRestart(pod, c, cur.id);
    if (probe) return `Container ${c.name} failed ${probe} probe, will be restarted`;
    if (cur.specHash && cur.specHash !== specHash(c)) return `Container ${c.name} definition changed, will be restarted`;
    return undefined;
  }

  /** Kubernetes' BackOff event for a container waiting out its CrashLoopBackOff. */
  private backingOff(pod: Pod, c: Container): void {
    const list = pod.spec!.initContainers.includes(c) ? "initContainers" : "containers";
    this.recorder.event(
      pod,
      "Warning",
      "BackOff",
      `Back-off restarting failed container ${c.name} in pod ${pod.metadata!.name}_${pod.metadata!.namespace}(${pod.metadata!.uid})`,
      `spec.${list}{${c.name}}`,
    );
  }

  /** The waiting message of a container in CrashLoopBackOff, with its current delay, as the kubelet words it. */
  private backOffMessage(pod: Pod, c: Container): string {
    const secs = Math.round(this.crashBackoff.delay(crashKey(pod, c)) / 1000);
    return `back-off ${secs}s restarting failed container=${c.name} pod=${pod.metadata!.name}_${pod.metadata!.namespace}(${pod.metadata!.uid})`;
  }

  /** A new sandbox (the first, or after the old one died, which takes every container with it). */
  private async recreateSandbox(
    pod: Pod,
    all: RuntimeContainer[],
    old: RuntimeContainer | undefined,
    binds: string[],
  ): Promise<string | undefined> {
    const m = pod.metadata!;
    if (old) {
      this.recorder.event(pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
      await this.terminator.killPod(pod, all, 0, old.ip);
      for (const s of all.filter((c) => c.type === "sandbox")) await this.runtime.remove(s.id);
    }
    if (!(await this.runtime.sandboxImagePresent(this.opts.pauseImage))) {
      const message = `Failed to create pod sandbox: image "${this.opts.pauseImage}" is not present on the node`;
      this.recorder.event(pod, "Warning", "FailedCreatePodSandBox", message);
      this.queue.addAfter(`${m.namespace}/${m.name}`, 10_000);
      return undefined;
    }
    try {
      return await this.runtime.createSandbox(
        {
          name: m.name,
          namespace: m.namespace,
          uid: m.uid,
          hostname: pod.spec!.hostname || m.name,
          gracePeriod: pod.spec!.terminationGracePeriodSeconds ?? 30,
        },
        this.opts.pauseImage,
        old ? old.attempt + 1 : 0,
        this.dnsFor(pod),
        binds,
      );
    } catch (e) {
      return this.sandboxFailed(pod, e as Error);
    }
  }

  /** Kubernetes' event when the runtime or the network plugin cannot make a sandbox; the error goes on, and the sync is retried. */
  private sandboxFailed(pod: Pod, e: Error): never {
    this.recorder.event(pod, "Warning", "FailedCreatePodSandBox", `Failed to create pod sandbox: ${e.message}`);
    throw e;
  }

  /**
   * The pod's resolver, by its dnsPolicy as Kubernetes defines it: ClusterFirst uses the cluster
   * DNS with the search path <ns>.svc.<domain> svc.<domain> <domain> and ndots:5; Default keeps
   * the node's; None takes only spec.dnsConfig, which the others append.
   */
  private dnsFor(pod: Pod): { servers: string[]; searches: string[]; options: string[] } | undefined {
    const policy = pod.spec?.dnsPolicy || "ClusterFirst";
    const cfg = pod.spec?.dnsConfig;
    const extra = {
      servers: cfg?.nameservers ?? [],
      searches: cfg?.searches ?? [],
      options: (cfg?.options ?? []).map((o) => (o.value ? `${o.name}:${o.value}` : o.name)),
    };
    if (policy === "None") return extra;
    if (policy === "Default" || !this.opts.clusterDns) return cfg ? extra : undefined;
    const d = this.opts.clusterDomain;
    return {
      servers: [this.opts.clusterDns, ...extra.servers],
      searches: [`${pod.metadata!.namespace}.svc.${d}`, `svc.${d}`, d, ...extra.searches],
      options: ["ndots:5", ...extra.options],
    };
  }

  private async pruneAttempts(containers: RuntimeContainer[]): Promise<void> {
    const byName = new Map<string, RuntimeContainer[]>();
    for (const c of containers) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
    for (const list of byName.values()) {
      const exited = list.filter(isExited).sort((a, b) => b.attempt - a.attempt);
      const newest = Math.max(...list.map((c) => c.attempt));
      // Keep the newest attempt whatever it is, and the last exited one before it.
      const keep = new Set(
        [...exited.filter((c) => c.attempt !== newest).slice(0, KEEP_EXITED), ...list.filter((c) => c.attempt === newest)].map((c) => c.id),
      );
      for (const c of list) if (!keep.has(c.id)) await this.runtime.remove(c.id);
    }
  }

  /** Graceful deletion: hooks, SIGTERM, grace period, SIGKILL; then the object goes. */
  private async terminate(pod: Pod, all: RuntimeContainer[], podIP: string): Promise<void> {
    const m = pod.metadata!;
    const deadline = Date.parse(m.deletionTimestamp);
    const grace = Math.max(
      0,
      Math.min(m.deletionGracePeriodSeconds ?? 30, Number.isFinite(deadline) ? (deadline - Date.now()) / 1000 : 30),
    );
    this.probes.removePod(m.uid);
    await this.terminator.killPod(pod, all, grace, podIP);
    const stopped = (await this.runtime.list(m.uid)).filter((c) => c.type !== "sandbox");
    await this.postPodStatus(pod, stopped, podIP, this.waitingOf(m.uid)).catch(() => undefined);
    await this.removePodResources(m.uid);
    await ignoreNotFound(this.client.delete("pods", m.namespace, m.name, { gracePeriodSeconds: 0, preconditions: { uid: m.uid } }));
  }

  /** Removes every container and volume of a pod uid (its object is gone or no longer ours). */
  async removePodResources(uid: string): Promise<void> {
    for (const c of await this.runtime.list(uid)) await this.runtime.remove(c.id);
    await this.volumes.tearDown(uid);
    this.mounted.delete(uid);
    this.waiting.delete(uid);
    this.crashBackoff.resetPrefix(`${uid}/`);
  }

  /** Stops and removes containers of pods this node no longer has (deleted, or bound elsewhere). */
  async housekeeping(): Promise<void> {
    const known = new Set(
      this.informer
        .list()
        .filter((p) => p.spec?.nodeName === this.opts.nodeName)
        .map((p) => p.metadata!.uid),
    );
    const byUid = new Map<string, RuntimeContainer[]>();
    for (const c of await this.runtime.list()) byUid.set(c.podUid, [...(byUid.get(c.podUid) ?? []), c]);
    for (const [uid, list] of byUid) {
      if (known.has(uid)) continue;
      this.log.info("removing containers of a pod no longer on this node", { pod: `${list[0]!.podNamespace}/${list[0]!.podName}`, uid });
      this.probes.removePod(uid);
      const grace = Math.min(...list.map((c) => c.gracePeriod));
      await this.terminator.killPod(undefined, list, Math.min(grace, 2), list.find((c) => c.type === "sandbox")?.ip ?? "");
      await this.removePodResources(uid);
    }
    for (const uid of this.waiting.keys()) if (!known.has(uid)) this.waiting.delete(uid);
    // Volume directories left by pods that went while no kubelet ran; asked again per uid, as a
    // pod may have arrived (and had its volumes set up) since `known` was taken.
    await this.volumes.removeOrphans((uid) =>
      this.informer.indexer.byIndex("uid", uid).some((p) => p.spec?.nodeName === this.opts.nodeName),
    );
  }

  /** Writes the pod's status when it differs from what the API server has. */
  private async postPodStatus(pod: Pod, containers: RuntimeContainer[], podIP: string, waiting: Map<string, Waiting>): Promise<void> {
    const status = computePodStatus({
      pod,
      containers,
      podIP,
      hostIP: this.opts.hostIP,
      waiting,
      ready: (c, id) => this.probes.ready(pod, c, id),
      started: (c, id) => this.probes.started(pod, c, id),
      now: formatTime(),
    });
    if (pod.status && equals(PodStatusSchema, status, pod.status)) return;
    const m = pod.metadata!;
    const update = create(PodSchema, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: m.name, namespace: m.namespace, uid: m.uid },
      status,
    });
    await ignoreNotFound(this.client.updateStatus(update));
  }
}
