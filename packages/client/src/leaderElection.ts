import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { create } from "@bufbuild/protobuf";
import { LeaseSchema, formatMicroTime, isAlreadyExists, isConflict, isNotFound, type Lease } from "@kubelab/api";
import type { ApiClient } from "./apiClient.js";
import { sleep } from "./backoff.js";

// client-go's leaderelection with a Lease lock (k8s.io/client-go/tools/leaderelection): copies of
// a component campaign for one Lease; the holder renews it every retry period and acts only while
// it could renew within the renew deadline; the others take it over once it has not been renewed
// for a lease duration, by their own clock. Written after client-go because no npm library speaks
// Kubernetes' Lease protocol over this API.

export interface LeaderElectionConfig {
  /** The Lease's name, as Kubernetes names it: "kube-scheduler", "kube-controller-manager". */
  lockName: string;
  /** Where the Lease lives (Kubernetes: kube-system). */
  lockNamespace: string;
  /** This copy's identity, as Kubernetes makes it: `<hostname>_<uuid>`. */
  identity: string;
  /** How long a holder's claim lasts after its last renewal, as non-holders see it (Kubernetes: 15 s). */
  leaseDurationMs: number;
  /** How long the holder keeps trying to renew before it stops acting (Kubernetes: 10 s). */
  renewDeadlineMs: number;
  /** The wait between tries, to acquire or to renew (Kubernetes: 2 s). */
  retryPeriodMs: number;
  /** On a graceful stop, give the lease up so a standby takes over at once. */
  releaseOnCancel: boolean;
}

export interface LeaderCallbacks {
  /** This copy leads: start acting. */
  onStartedLeading(): void | Promise<void>;
  /** This copy no longer leads (it could not renew in time, or it stopped): stop acting at once. */
  /** Stops acting; the lease is released only once what it returns has settled. */
  onStoppedLeading(): void | Promise<void>;
  /** Someone (maybe this copy) holds the lease now. */
  onNewLeader?(identity: string): void;
}

/** Kubernetes' holder identity for this process. */
export const leaderIdentity = () => `${hostname()}_${randomUUID()}`;

/** client-go's JitterFactor: waits before acquiring are stretched by up to this much, so candidates do not try in step. */
const JITTER = 1.2;

export class LeaderElector {
  private leading = false;
  /**
   * The lease spec last seen, and when its holder's claim lapses by this process's clock: a lease
   * duration after this process saw the record change (client-go's observedTime).
   */
  private observed: { key: string; holder: string; lapsesAtMs: number } = { key: "", holder: "", lapsesAtMs: 0 };
  private reportedLeader = "";
  /** The Lease as last read or written, for the leader's renewals. */
  private lastLease: Lease | undefined;

  constructor(
    private readonly client: Pick<ApiClient, "get" | "create" | "update">,
    readonly cfg: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly now: () => number = Date.now,
  ) {
    if (!(cfg.leaseDurationMs > cfg.renewDeadlineMs && cfg.renewDeadlineMs > cfg.retryPeriodMs * JITTER)) {
      throw new Error(
        "leader election: the lease duration must be longer than the renew deadline, and the renew deadline longer than 1.2 retry periods",
      );
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder this process last saw ("" when none). */
  get leader(): string {
    return this.observed.holder;
  }

  /**
   * Campaigns until this copy leads, then leads until it cannot renew within the renew deadline
   * or `signal` aborts (then, with releaseOnCancel, it gives the lease up once the component has
   * stopped acting, so a standby can never act beside it). Resolves once it no longer leads;
   * onStoppedLeading has run by then.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.acquire(signal))) return;
    this.leading = true;
    try {
      await this.callbacks.onStartedLeading();
      await this.renewUntilLost(signal);
    } finally {
      this.leading = false;
      await Promise.resolve(this.callbacks.onStoppedLeading()).catch(() => undefined);
      if (signal.aborted && this.cfg.releaseOnCancel) await this.release().catch(() => undefined);
    }
  }

  /**
   * Tries every retry period (jittered) until this copy holds the lease; false if `signal` aborts
   * first. Unlike client-go, a try also falls due when the holder's claim runs out by this
   * process's clock: tries a retry period apart would otherwise leave a lapsed lease unheld for
   * up to one more retry period.
   */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew().catch(() => false)) return true;
      const retryMs = this.cfg.retryPeriodMs * (1 + Math.random() * (JITTER - 1));
      const untilLapsedMs = this.observed.holder ? this.observed.lapsesAtMs - this.now() : 0;
      await sleep(untilLapsedMs > 0 ? Math.min(retryMs, untilLapsedMs) : retryMs, signal);
    }
    return false;
  }

  /**
   * Renews every retry period; a renewal may take tries until the renew deadline, and if none
   * succeeds by then the leadership is lost (client-go's renew loop).
   */
  private async renewUntilLost(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const deadline = this.now() + this.cfg.renewDeadlineMs;
      let renewed = false;
      while (!renewed && !signal.aborted && this.now() < deadline) {
        renewed = await withTimeout(this.tryAcquireOrRenew(), deadline - this.now()).catch(() => false);
        if (!renewed) await sleep(Math.min(this.cfg.retryPeriodMs, Math.max(0, deadline - this.now())), signal);
      }
      if (!renewed) return;
      await sleep(this.cfg.retryPeriodMs, signal);
    }
  }

  /**
   * One try (client-go's tryAcquireOrRenew): takes the lease if nobody holds it, or its holder let
   * it lapse (not renewed for its duration, by this process's clock), or it is ours; a write that
   * lost to another writer (Conflict, AlreadyExists) is a failed try.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const nowMs = this.now();
    // client-go's fast path: a leader whose lease is still valid updates the record it wrote
    // last, without reading it first; any failure falls back to the read.
    const mine = this.lastLease;
    if (this.leading && mine?.spec?.holderIdentity === this.cfg.identity && this.observed.lapsesAtMs > nowMs) {
      try {
        const updated = await this.client.update<Lease>({ ...mine, spec: this.heldSpec(nowMs, mine.spec) });
        this.observe(updated, this.now());
        return true;
      } catch {
        // Someone else wrote it (or the API did not answer): read it, as a candidate does.
      }
    }
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>("leases", this.cfg.lockNamespace, this.cfg.lockName);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const fresh = create(LeaseSchema, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.cfg.lockName, namespace: this.cfg.lockNamespace },
        spec: this.heldSpec(nowMs, undefined),
      });
      try {
        const created = await this.client.create(fresh);
        this.observe(created, this.now());
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false;
        throw err;
      }
    }
    this.observe(lease, nowMs);
    const spec = lease.spec;
    const holder = spec?.holderIdentity ?? "";
    if (holder && holder !== this.cfg.identity && this.observed.lapsesAtMs > nowMs) return false;
    try {
      const updated = await this.client.update<Lease>({ ...lease, spec: this.heldSpec(nowMs, spec) });
      this.observe(updated, this.now());
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Gives the lease up (an empty holder, a 1 s duration), so a standby takes it at once. */
  async release(): Promise<void> {
    const lease = await this.client.get<Lease>("leases", this.cfg.lockNamespace, this.cfg.lockName);
    if (lease.spec?.holderIdentity !== this.cfg.identity) return;
    const at = formatMicroTime(this.now());
    await this.client.update<Lease>({
      ...lease,
      spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, acquireTime: at, renewTime: at },
    });
  }

  /** The spec that says this copy holds the lease, from the spec it replaces. */
  private heldSpec(nowMs: number, old: Lease["spec"] | undefined): NonNullable<Lease["spec"]> {
    const ours = old?.holderIdentity === this.cfg.identity;
    const at = formatMicroTime(nowMs);
    return create(LeaseSchema, {
      spec: {
        holderIdentity: this.cfg.identity,
        leaseDurationSeconds: Math.ceil(this.cfg.leaseDurationMs / 1000),
        acquireTime: ours && old?.acquireTime ? old.acquireTime : at,
        renewTime: at,
        leaseTransitions: ours ? (old?.leaseTransitions ?? 0) : (old?.leaseTransitions ?? -1) + 1,
      },
    }).spec!;
  }

  /** Notes the lease as seen at `atMs`; its observation time moves only when the record changed. */
  private observe(lease: Lease, atMs: number): void {
    this.lastLease = lease;
    const s = lease.spec;
    const key = `${s?.holderIdentity}|${s?.renewTime}|${s?.leaseDurationSeconds}|${s?.leaseTransitions}`;
    if (key !== this.observed.key)
      this.observed = { key, holder: s?.holderIdentity ?? "", lapsesAtMs: atMs + (s?.leaseDurationSeconds ?? 0) * 1000 };
    if (this.observed.holder !== this.reportedLeader) {
      this.reportedLeader = this.observed.holder;
      if (this.observed.holder) this.callbacks.onNewLeader?.(this.observed.holder);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timed out")), Math.max(0, ms));
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** What a leader-elected component gives runLeaderElected. */
export interface LeaderElectedComponent {
  /** Starts acting (this copy leads). */
  lead(): void | Promise<void>;
  /** Stops acting at once (this copy no longer leads, or is stopping). */
  stopActing(): Promise<void>;
}

export interface LeaderElection {
  elector: LeaderElector;
  /** Resolves when leadership is lost while the component still runs: it must exit, as Kubernetes' do. */
  lost: Promise<string>;
  /** Stops campaigning and acting; a leader gives the lease up (with releaseOnCancel). */
  stop(): Promise<void>;
}

/**
 * client-go's RunOrDie: campaigns, runs the component while this copy leads, and stops it at
 * once when the lease cannot be renewed (`lost` then resolves, for the process to exit and be
 * restarted, as kube-scheduler and kube-controller-manager do).
 */
export function runLeaderElected(
  client: Pick<ApiClient, "get" | "create" | "update">,
  cfg: LeaderElectionConfig,
  component: LeaderElectedComponent,
  log: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void },
): LeaderElection {
  const campaign = new AbortController();
  let stopping = false;
  let acting: Promise<void> = Promise.resolve();
  let markLost: (why: string) => void = () => {};
  const lost = new Promise<string>((r) => (markLost = r));
  const elector = new LeaderElector(client, cfg, {
    onStartedLeading: async () => {
      log.info("became the leader", { lease: `${cfg.lockNamespace}/${cfg.lockName}`, identity: cfg.identity });
      await component.lead();
    },
    onStoppedLeading: () => {
      acting = component.stopActing();
      if (!stopping) {
        log.warn("leader election lost: stopped acting", { lease: `${cfg.lockNamespace}/${cfg.lockName}`, identity: cfg.identity });
        markLost(`leaderelection lost: could not renew ${cfg.lockNamespace}/${cfg.lockName} within ${cfg.renewDeadlineMs / 1000} s`);
      }
      return acting;
    },
    onNewLeader: (identity) => {
      if (identity !== cfg.identity) log.info("new leader elected", { lease: `${cfg.lockNamespace}/${cfg.lockName}`, leader: identity });
    },
  });
  const running = elector.run(campaign.signal);
  return {
    elector,
    lost,
    stop: async () => {
      stopping = true;
      campaign.abort();
      await running;
      await acting;
    },
  };
}

/** The leader election flags both leader-elected components take (leaderElectionOptions in @kubelab/service-kit). */
export interface LeaderElectionFlags {
  leaderElectLeaseDurationSeconds: number;
  leaderElectRenewDeadlineSeconds: number;
  leaderElectRetryPeriodSeconds: number;
  leaderElectResourceNamespace: string;
  leaderElectResourceName: string;
}

/** A LeaderElectionConfig from the component's flags, for this process (a new identity). */
export function leaderElectionConfig(flags: LeaderElectionFlags): LeaderElectionConfig {
  return {
    lockName: flags.leaderElectResourceName,
    lockNamespace: flags.leaderElectResourceNamespace,
    identity: leaderIdentity(),
    leaseDurationMs: flags.leaderElectLeaseDurationSeconds * 1000,
    renewDeadlineMs: flags.leaderElectRenewDeadlineSeconds * 1000,
    retryPeriodMs: flags.leaderElectRetryPeriodSeconds * 1000,
    releaseOnCancel: true,
  };
}
