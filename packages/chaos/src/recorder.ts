// What the cluster did during a run, on one clock: etcd's leader and members, the Lease holders,
// node conditions and taints, pods created, bound, Ready and deleted, endpoints, events, and
// the lab's containers as Docker saw them; and, at every change, whether the desired state holds.
import type { Readable } from "node:stream";
import {
  type Deployment,
  type Endpoints,
  type Event,
  isPodReady,
  type KubeObject,
  type Lease,
  type Node,
  type Pod,
  type Service,
} from "@kubelab/api";
import { type ApiClient, Informer } from "@kubelab/client";
import { desiredStateProblems } from "./desiredState.js";
import { EtcdMembers, etcdLeader, type MemberStatus } from "./etcdMembers.js";
import type { LabDocker } from "./labDocker.js";

export type ReactionSource = "etcd" | "lease" | "node" | "pod" | "endpoints" | "event" | "container";

/** One thing the cluster did (or Docker saw), as the recorder observed it. */
export interface Reaction {
  atMs: number;
  source: ReactionSource;
  /** What it is about: "etcd-1", "kube-scheduler", "node-2", "chaos-probe/chaos-web-x". */
  subject: string;
  /** What happened: "leader", "unreachable", "acquired", "Ready=Unknown", "tainted", "bound"... */
  what: string;
  detail?: string;
}

/** One version of a Lease as it was observed. */
export interface LeaseObservation {
  atMs: number;
  lease: string;
  holder: string;
  acquireMs: number;
  renewMs: number;
  durationS: number;
  transitions: number;
}

/** Something a leader-elected component did, by which copy (from the events it wrote). */
export interface LeaderAction {
  atMs: number;
  /** "scheduler" or "controller-manager". */
  component: string;
  /** reportingInstance: "<component>-<hostname>". */
  instance: string;
  what: string;
}

export interface DesiredStateSample {
  atMs: number;
  ok: boolean;
  problems: string[];
}

/** Most reactions kept; a run that makes more keeps the first ones and counts the rest. */
const MAX_REACTIONS = 20_000;
const ETCD_POLL_MS = 1_000;
const DESIRED_STATE_THROTTLE_MS = 200;

const LEADER_COMPONENTS: Record<string, string> = { "default-scheduler": "scheduler", "controller-manager": "controller-manager" };

export class Recorder {
  readonly reactions: Reaction[] = [];
  readonly leases: LeaseObservation[] = [];
  readonly actions: LeaderAction[] = [];
  readonly desired: DesiredStateSample[] = [];
  readonly etcdSamples: Array<{ atMs: number; leader?: string; members: MemberStatus[] }> = [];
  /** Each node's Ready status at the start, then at every change. */
  readonly nodeReady: Array<{ atMs: number; node: string; ready: string }> = [];
  droppedReactions = 0;
  /** Nodes under a fault right now: not expected to be Ready. */
  readonly excludedNodes = new Set<string>();

  private readonly informers: {
    nodes: Informer<Node>;
    pods: Informer<Pod>;
    endpoints: Informer<Endpoints>;
    deployments: Informer<Deployment>;
    services: Informer<Service>;
    leases: Informer<Lease>;
    events: Informer<Event>;
  };
  private readonly etcd: EtcdMembers;
  private etcdTimer: NodeJS.Timeout | undefined;
  private desiredTimer: NodeJS.Timeout | undefined;
  private dockerEvents: Readable | undefined;
  private lastEtcdLeader: string | undefined = "";
  private readonly etcdReachable = new Map<string, boolean>();
  private started = false;
  private stopped = false;
  private sinceMs = 0;

  constructor(
    readonly client: ApiClient,
    private readonly lab: LabDocker,
  ) {
    this.informers = {
      nodes: new Informer<Node>(client, "nodes"),
      pods: new Informer<Pod>(client, "pods"),
      endpoints: new Informer<Endpoints>(client, "endpoints"),
      deployments: new Informer<Deployment>(client, "deployments"),
      services: new Informer<Service>(client, "services"),
      leases: new Informer<Lease>(client, "leases", { namespace: "kube-system" }),
      events: new Informer<Event>(client, "events"),
    };
    this.etcd = new EtcdMembers(lab);
  }

  private react(r: Omit<Reaction, "atMs"> & { atMs?: number }): void {
    if (!this.started) return;
    if (this.reactions.length >= MAX_REACTIONS) {
      this.droppedReactions++;
      return;
    }
    this.reactions.push({ atMs: r.atMs ?? Date.now(), source: r.source, subject: r.subject, what: r.what, detail: r.detail });
  }

  /** Starts every watch; resolves once their first lists are in. */
  async start(): Promise<void> {
    this.sinceMs = Date.now();
    const i = this.informers;
    i.nodes.addEventHandler({
      onUpdate: (a, b) => this.nodeChanged(a, b),
      onAdd: (n) => this.react({ source: "node", subject: n.metadata!.name, what: "registered" }),
    });
    i.pods.addEventHandler({
      onAdd: (p) =>
        this.react({ source: "pod", subject: podKey(p), what: "created", detail: p.spec?.nodeName ? `on ${p.spec.nodeName}` : undefined }),
      onUpdate: (a, b) => this.podChanged(a, b),
      onDelete: (p) =>
        this.react({
          source: "pod",
          subject: podKey(p),
          what: "deleted",
          detail: p.spec?.nodeName ? `from ${p.spec.nodeName}` : undefined,
        }),
    });
    i.endpoints.addEventHandler({ onUpdate: (a, b) => this.endpointsChanged(a, b) });
    i.leases.addEventHandler({ onAdd: (l) => this.leaseSeen(undefined, l), onUpdate: (a, b) => this.leaseSeen(a, b) });
    i.events.addEventHandler({ onAdd: (e) => this.eventSeen(e) });
    for (const inf of Object.values(i) as Informer<KubeObject>[])
      inf.addEventHandler({
        onAdd: () => this.desiredChanged(),
        onUpdate: () => this.desiredChanged(),
        onDelete: () => this.desiredChanged(),
      });
    await Promise.all(Object.values(i).map((inf: Informer<KubeObject>) => inf.start()));
    this.started = true;
    for (const l of i.leases.list()) this.leaseSeen(undefined, l);
    for (const n of i.nodes.list()) this.nodeReady.push({ atMs: Date.now(), node: n.metadata!.name, ready: readyOf(n) });
    this.sampleDesired();
    await this.pollEtcd();
    this.etcdTimer = setInterval(() => void this.pollEtcd(), ETCD_POLL_MS);
    await this.watchContainers();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.etcdTimer);
    clearTimeout(this.desiredTimer);
    for (const inf of Object.values(this.informers) as Informer<KubeObject>[]) inf.stop();
    this.dockerEvents?.destroy();
    this.etcd.close();
  }

  /** The desired state's problems now (empty: it holds). */
  problemsNow(): string[] {
    const i = this.informers;
    return desiredStateProblems(
      {
        deployments: i.deployments.list(),
        pods: i.pods.list(),
        services: i.services.list(),
        endpoints: i.endpoints.list(),
        nodes: i.nodes.list(),
      },
      this.excludedNodes,
    );
  }

  /** The current etcd leader as last polled ("" before the first poll, undefined with none). */
  get etcdLeaderNow(): string | undefined {
    return this.lastEtcdLeader;
  }

  /** Re-evaluates the desired state soon (changes come in bursts). */
  desiredChanged(): void {
    if (!this.started || this.stopped || this.desiredTimer) return;
    this.desiredTimer = setTimeout(() => {
      this.desiredTimer = undefined;
      this.sampleDesired();
    }, DESIRED_STATE_THROTTLE_MS);
  }

  private sampleDesired(): void {
    const problems = this.problemsNow();
    const last = this.desired.at(-1);
    const ok = problems.length === 0;
    if (!last || last.ok !== ok || (!ok && last.problems.join("\n") !== problems.join("\n")))
      this.desired.push({ atMs: Date.now(), ok, problems: problems.slice(0, 20) });
  }

  private nodeChanged(a: Node, b: Node): void {
    const name = b.metadata!.name;
    if (readyOf(a) !== readyOf(b)) {
      if (this.started) this.nodeReady.push({ atMs: Date.now(), node: name, ready: readyOf(b) });
      const c = b.status?.conditions.find((x) => x.type === "Ready");
      this.react({ source: "node", subject: name, what: `Ready=${readyOf(b)}`, detail: c?.reason || undefined });
    }
    const taints = (n: Node) => new Set((n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`));
    const before = taints(a);
    const after = taints(b);
    for (const t of after) if (!before.has(t)) this.react({ source: "node", subject: name, what: "tainted", detail: t });
    for (const t of before) if (!after.has(t)) this.react({ source: "node", subject: name, what: "untainted", detail: t });
  }

  private podChanged(a: Pod, b: Pod): void {
    const key = podKey(b);
    if (!a.spec?.nodeName && b.spec?.nodeName) this.react({ source: "pod", subject: key, what: "bound", detail: `to ${b.spec.nodeName}` });
    if (!isPodReady(a) && isPodReady(b)) this.react({ source: "pod", subject: key, what: "Ready", detail: b.spec?.nodeName });
    if (isPodReady(a) && !isPodReady(b)) this.react({ source: "pod", subject: key, what: "not Ready", detail: b.spec?.nodeName });
    if (!a.metadata?.deletionTimestamp && b.metadata?.deletionTimestamp)
      this.react({ source: "pod", subject: key, what: "terminating", detail: b.spec?.nodeName });
  }

  private endpointsChanged(a: Endpoints, b: Endpoints): void {
    const count = (e: Endpoints) => e.subsets.reduce((n, s) => n + s.addresses.length, 0);
    const notReady = (e: Endpoints) => e.subsets.reduce((n, s) => n + s.notReadyAddresses.length, 0);
    if (count(a) !== count(b) || notReady(a) !== notReady(b))
      this.react({
        source: "endpoints",
        subject: `${b.metadata!.namespace}/${b.metadata!.name}`,
        what: `${count(b)} ready`,
        detail: `${notReady(b)} not ready`,
      });
  }

  private leaseSeen(a: Lease | undefined, b: Lease): void {
    if (!this.started) return;
    const s = b.spec;
    const obs: LeaseObservation = {
      atMs: Date.now(),
      lease: b.metadata!.name,
      holder: s?.holderIdentity ?? "",
      acquireMs: Date.parse(s?.acquireTime ?? "") || 0,
      renewMs: Date.parse(s?.renewTime ?? "") || 0,
      durationS: s?.leaseDurationSeconds ?? 0,
      transitions: s?.leaseTransitions ?? 0,
    };
    this.leases.push(obs);
    // Node leases (kube-node-lease) are not watched; kube-system holds the components' locks.
    if (a && a.spec?.holderIdentity !== obs.holder)
      this.react({
        source: "lease",
        subject: obs.lease,
        what: obs.holder ? "acquired" : "released",
        detail: obs.holder || a.spec?.holderIdentity,
      });
  }

  private eventSeen(e: Event): void {
    if (!this.started) return;
    const atMs = Date.parse(e.eventTime || e.firstTimestamp || "") || Date.now();
    if (atMs < this.sinceMs - 1000) return;
    const component = LEADER_COMPONENTS[e.reportingComponent || e.source?.component || ""];
    if (component && e.reportingInstance)
      this.actions.push({ atMs, component, instance: e.reportingInstance, what: `${e.reason} ${e.involvedObject?.name ?? ""}` });
    const ref = e.involvedObject;
    this.react({
      atMs,
      source: "event",
      subject: `${ref?.kind ?? ""} ${ref?.namespace ? `${ref.namespace}/` : ""}${ref?.name ?? ""}`,
      what: e.reason,
      detail: `${e.type}: ${e.message}`,
    });
  }

  private async pollEtcd(): Promise<void> {
    if (this.stopped) return;
    const members = await this.etcd.statuses().catch(() => [] as MemberStatus[]);
    if (this.stopped || members.length === 0) return;
    const atMs = Date.now();
    const leader = etcdLeader(members);
    for (const m of members) {
      if (this.etcdReachable.get(m.name) !== m.reachable && this.etcdReachable.has(m.name))
        this.react({ atMs, source: "etcd", subject: m.name, what: m.reachable ? "reachable" : "unreachable" });
      this.etcdReachable.set(m.name, m.reachable);
    }
    if (leader !== this.lastEtcdLeader) {
      if (this.lastEtcdLeader !== "")
        this.react({
          atMs,
          source: "etcd",
          subject: leader ?? "etcd",
          what: leader ? "leader" : "no leader",
          detail: leader ? `term ${members.find((m) => m.name === leader)?.raftTerm}` : undefined,
        });
      this.lastEtcdLeader = leader;
    }
    this.etcdSamples.push({ atMs, leader, members });
  }

  /** Docker's own events for the lab's containers: died, started, paused... */
  private async watchContainers(): Promise<void> {
    const stream = (await this.lab.docker.getEvents({
      filters: {
        type: ["container"],
        label: [`com.docker.compose.project=${this.lab.project}`],
        event: ["die", "start", "pause", "unpause", "kill", "stop", "restart"],
      },
    })) as unknown as Readable;
    this.dockerEvents = stream;
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        try {
          const ev = JSON.parse(line) as { Action: string; timeNano?: number; Actor?: { Attributes?: Record<string, string> } };
          const attrs = ev.Actor?.Attributes ?? {};
          const service = attrs["com.docker.compose.service"];
          if (!service) continue;
          const atMs = ev.timeNano ? Math.floor(ev.timeNano / 1e6) : Date.now();
          this.react({
            atMs,
            source: "container",
            subject: service,
            what: ev.Action,
            detail: attrs.exitCode ? `exit ${attrs.exitCode}` : undefined,
          });
        } catch {
          // A line cut short at the stream's end.
        }
      }
    });
    stream.on("error", () => undefined);
  }
}

const readyOf = (n: Node) => n.status?.conditions.find((c) => c.type === "Ready")?.status ?? "Unknown";
const podKey = (p: Pod) => `${p.metadata!.namespace}/${p.metadata!.name}`;
