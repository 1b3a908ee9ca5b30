import { create, equals } from "@bufbuild/protobuf";
import { PodSchema, PodStatusSchema, type Container, type Pod, formatTime } from "@kubelab/api";
import { ignoreNotFound, writeStatus, type ApiClient, type EventRecorder, type Informer, type WorkQueue } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";
import type { DockerRuntime, RuntimeContainer } from "../runtime/dockerRuntime.js";
import { LABEL } from "../runtime/labels.js";
import type { ProbeManager } from "../probes/probeManager.js";
import { Backoff } from "./backoff.js";
import { ContainerStarter } from "./containerStarter.js";
import { emptyDirVolumeName, specHash } from "./containerSpec.js";
import { PodTerminator } from "./podTerminator.js";
import { attemptsOf, computePodStatus, isExited, type Waiting } from "./podStatus.js";

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

/** Exited attempts kept per container: the last one is what `logs --previous` reads. */
const KEEP_EXITED = 1;


/**
 * The kubelet's syncPod, level-triggered: for one pod, compare the pod object with what Docker
 * runs, take the next steps (sandbox, init containers in order, app containers, restarts with
 * back-off, probe-driven restarts, graceful termination), then write the status if it changed.
 * Called for a pod's key whenever the pod, its containers or its probes change, and periodically.
 */
export class PodSyncer {
  private readonly waiting = new Map<string, Map<string, Waiting>>();
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
  ) {
    this.crashBackoff = new Backoff(opts.crashLoopBackOffBaseMs, opts.crashLoopBackOffMaxMs);
    this.starter = new ContainerStarter(runtime, client, recorder, new Backoff(opts.imagePullBackOffBaseMs, opts.imagePullBackOffMaxMs));
    this.terminator = new PodTerminator(runtime, recorder);
  }

  async sync(key: string): Promise<void> {
    const pod = this.informer.get(key);
    if (!pod || pod.spec?.nodeName !== this.opts.nodeName) return; // housekeeping removes what is left
    const uid = pod.metadata!.uid;
    const all = await this.runtime.list(uid);
    let containers = all.filter((c) => c.type !== "sandbox");
    const sandboxes = all.filter((c) => c.type === "sandbox").sort((a, b) => b.attempt - a.attempt);

    if (pod.metadata!.deletionTimestamp) return this.terminate(pod, all, sandboxes[0]?.ip ?? pod.status?.podIp ?? "");
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") {
      await this.terminator.killPod(pod, all, 0, sandboxes[0]?.ip ?? "");
      this.probes.removePod(uid);
      return;
    }

    const waiting = this.waitingOf(uid);
    let retryInMs: number | undefined;
    const retryIn = (ms: number | undefined) => {
      if (ms !== undefined && ms > 0) retryInMs = retryInMs === undefined ? ms : Math.min(retryInMs, ms);
    };

    // Whether this sync changed anything in Docker; if not, what was listed at its start is still
    // what runs, and the list at its end is spared (most syncs are no-ops: a status write echoed back).
    let acted = false;
    let sandboxId: string;
    let sandboxStarted: Promise<void> = Promise.resolve();
    let podIP: () => Promise<string>;
    const current = sandboxes[0];
    if (current && current.state === "running") {
      sandboxId = current.id;
      sandboxStarted = this.runtime.ensureWired(current.id);
      podIP = async () => current.ip;
    } else {
      acted = true;
      const created = await this.recreateSandbox(pod, all, current);
      if (!created) return this.writeStatus(pod, containers, "", waiting);
      if (current) containers = (await this.runtime.list(uid)).filter((c) => c.type !== "sandbox");
      sandboxId = created;
      const wired = this.runtime.startSandbox(created).catch((e: Error) => this.sandboxFailed(pod, e));
      sandboxStarted = wired.then(() => undefined);
      let ip: Promise<string> | undefined;
      podIP = () => (ip ??= wired.then(async (plugged) => plugged ?? (await this.runtime.inspect(created))?.ip ?? ""));
    }
    // A sandbox that fails to start fails every container start: the next sync makes a new one.
    sandboxStarted.catch(() => undefined);
    const ctx = { pod, sandboxId, sandboxStarted, podIP, hostIP: this.opts.hostIP };
    const policy = pod.spec!.restartPolicy || "Always";

    // Init containers, one at a time, in order; each must succeed before the next starts.
    let initDone = true;
    let podFailed = false;
    for (const ic of pod.spec!.initContainers) {
      const [cur] = attemptsOf(containers, ic.name);
      if (cur && isExited(cur) && cur.exitCode === 0 && cur.startedAt) continue;
      initDone = false;
      if (cur && !isExited(cur)) break;
      if (cur && policy === "Never") {
        podFailed = true;
        break;
      }
      const next = cur ? cur.attempt + 1 : 0;
      if (cur) {
        const wait = this.backoffWait(pod, ic, cur, waiting);
        if (wait > 0) {
          retryIn(wait);
          break;
        }
      }
      acted = true;
      const r = await this.starter.start(ctx, ic, "init", next);
      if (r.started) waiting.delete(ic.name);
      else {
        waiting.set(ic.name, r.waiting);
        retryIn(r.retryInMs);
      }
      break;
    }

    if (initDone && !podFailed) {
      for (const c of pod.spec!.containers) {
        const [cur] = attemptsOf(containers, c.name);
        if (cur && cur.state === "running") {
          const why = this.restartReason(pod, c, cur);
          if (!why) {
            waiting.delete(c.name);
            continue;
          }
          acted = true;
          await this.terminator.killContainer(pod, cur, pod.spec!.terminationGracePeriodSeconds ?? 30, why, await ctx.podIP());
          // Killed on purpose: it starts again now, whatever the restart policy says.
          const r = await this.starter.start(ctx, c, "app", cur.attempt + 1);
          if (r.started) waiting.delete(c.name);
          else {
            waiting.set(c.name, r.waiting);
            retryIn(r.retryInMs);
          }
          continue;
        }
        if (cur && isExited(cur)) {
          const restart = policy === "Always" || (policy === "OnFailure" && (cur.exitCode !== 0 || !cur.startedAt));
          if (!restart) {
            waiting.delete(c.name);
            continue;
          }
          const wait = this.backoffWait(pod, c, cur, waiting);
          if (wait > 0) {
            retryIn(wait);
            continue;
          }
        }
        if (cur && !isExited(cur)) continue; // restarting, paused: Docker's business
        acted = true;
        const r = await this.starter.start(ctx, c, "app", cur ? cur.attempt + 1 : 0);
        if (r.started) waiting.delete(c.name);
        else {
          waiting.set(c.name, r.waiting);
          retryIn(r.retryInMs);
        }
      }
    }

    await sandboxStarted.catch(() => undefined);
    const afterAll = acted ? await this.runtime.list(uid) : all;
    const after = afterAll.filter((c) => c.type !== "sandbox");
    const sandboxIP = afterAll.find((c) => c.id === sandboxId)?.ip ?? "";
    await this.pruneAttempts(after);
    const running = new Map<string, { id: string; startedAt: string }>();
    for (const c of after) if (c.state === "running" && c.type === "app") running.set(c.name, { id: c.id, startedAt: c.startedAt });
    this.probes.sync(pod, running, (c) => ({
      podIP: sandboxIP,
      container: c,
      exec: (cmd, ms) => this.runtime.exec(running.get(c.name)!.id, cmd, ms),
    }));
    await this.writeStatus(pod, after, sandboxIP, waiting);
    if (retryInMs !== undefined) this.queue.addAfter(key, retryInMs + 50);
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

  /**
   * CrashLoopBackOff as the kubelet does it: the first restart after a crash is immediate, each
   * later one waits base·2ⁿ (to the max) counted from when the container finished.
   */
  private backoffWait(pod: Pod, c: Container, cur: RuntimeContainer, waiting: Map<string, Waiting>): number {
    const key = `${pod.metadata!.uid}/${c.name}`;
    const finished = Date.parse(cur.finishedAt) || Date.now();
    const wait = this.crashBackoff.remaining(key, finished);
    if (wait > 0) {
      const secs = Math.round(this.crashBackoff.delay(key) / 1000);
      const message = `back-off ${secs}s restarting failed container=${c.name} pod=${pod.metadata!.name}_${pod.metadata!.namespace}(${pod.metadata!.uid})`;
      waiting.set(c.name, { reason: "CrashLoopBackOff", message });
      const list = pod.spec!.initContainers.includes(c) ? "initContainers" : "containers";
      this.recorder.event(pod, "Warning", "BackOff", `Back-off restarting failed container ${c.name} in pod ${pod.metadata!.name}_${pod.metadata!.namespace}(${pod.metadata!.uid})`, `spec.${list}{${c.name}}`);
      return wait;
    }
    this.crashBackoff.next(key, finished);
    return 0;
  }

  /** A new sandbox (the first, or after the old one died, which takes every container with it). */
  private async recreateSandbox(pod: Pod, all: RuntimeContainer[], old: RuntimeContainer | undefined): Promise<string | undefined> {
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
    for (const v of pod.spec!.volumes) {
      if (v.emptyDir) {
        await this.runtime.docker.createVolume({
          Name: emptyDirVolumeName(pod, v.name),
          Labels: {
            [LABEL.lab]: "true",
            [LABEL.node]: this.opts.nodeName,
            [LABEL.podUid]: m.uid,
            [LABEL.project]: this.runtime.identity.project,
          },
        });
      }
    }
    try {
      return await this.runtime.createSandbox(
        { name: m.name, namespace: m.namespace, uid: m.uid, hostname: pod.spec!.hostname || m.name, gracePeriod: pod.spec!.terminationGracePeriodSeconds ?? 30 },
        this.opts.pauseImage,
        old ? old.attempt + 1 : 0,
        this.dnsFor(pod),
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
      const keep = new Set([...exited.filter((c) => c.attempt !== newest).slice(0, KEEP_EXITED), ...list.filter((c) => c.attempt === newest)].map((c) => c.id));
      for (const c of list) if (!keep.has(c.id)) await this.runtime.remove(c.id);
    }
  }

  /** Graceful deletion: hooks, SIGTERM, grace period, SIGKILL; then the object goes. */
  private async terminate(pod: Pod, all: RuntimeContainer[], podIP: string): Promise<void> {
    const m = pod.metadata!;
    const deadline = Date.parse(m.deletionTimestamp);
    const grace = Math.max(0, Math.min(m.deletionGracePeriodSeconds ?? 30, Number.isFinite(deadline) ? (deadline - Date.now()) / 1000 : 30));
    this.probes.removePod(m.uid);
    await this.terminator.killPod(pod, all, grace, podIP);
    const stopped = (await this.runtime.list(m.uid)).filter((c) => c.type !== "sandbox");
    await this.writeStatus(pod, stopped, podIP, this.waitingOf(m.uid)).catch(() => undefined);
    await this.removePodResources(m.uid);
    await ignoreNotFound(this.client.delete("pods", m.namespace, m.name, { gracePeriodSeconds: 0, preconditions: { uid: m.uid } }));
  }

  /** Removes every container and volume of a pod uid (its object is gone or no longer ours). */
  async removePodResources(uid: string): Promise<void> {
    for (const c of await this.runtime.list(uid)) await this.runtime.remove(c.id);
    const vols = await this.runtime.docker.listVolumes({ filters: { label: [`${LABEL.podUid}=${uid}`] } });
    for (const v of vols.Volumes ?? []) await this.runtime.docker.getVolume(v.Name).remove().catch(() => undefined);
    this.waiting.delete(uid);
    this.crashBackoff.resetPrefix(`${uid}/`);
  }

  /** Stops and removes containers of pods this node no longer has (deleted, or bound elsewhere). */
  async housekeeping(): Promise<void> {
    const known = new Set(this.informer.list().filter((p) => p.spec?.nodeName === this.opts.nodeName).map((p) => p.metadata!.uid));
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
  }

  /** Writes the pod's status when it differs from what the API server has. */
  private async writeStatus(pod: Pod, containers: RuntimeContainer[], podIP: string, waiting: Map<string, Waiting>): Promise<void> {
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
    const update = create(PodSchema, { apiVersion: "v1", kind: "Pod", metadata: { name: m.name, namespace: m.namespace, uid: m.uid }, status });
    await ignoreNotFound(this.client.updateStatus(update));
  }
}
