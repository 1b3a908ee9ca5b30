import { clone, create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, LeaseSchema, type Lease } from "@kubelab/api";
import type { ApiClient } from "./apiClient.js";
import { LeaderElector, type LeaderElectionConfig } from "./leaderElection.js";

/** One Lease in memory with resourceVersion checks, as the API server keeps it; `down` makes every call fail. */
class FakeLeases {
  lease: Lease | undefined;
  rv = 0;
  down = false;
  gets = 0;
  private check() {
    if (this.down) throw new ApiError(grpc.status.UNAVAILABLE, "no API server", "ServiceUnavailable");
  }
  readonly client = {
    get: async () => {
      this.gets++;
      this.check();
      if (!this.lease) throw new ApiError(grpc.status.NOT_FOUND, 'leases.coordination.k8s.io "x" not found', "NotFound");
      return clone(LeaseSchema, this.lease);
    },
    create: async (l: Lease) => {
      this.check();
      if (this.lease) throw new ApiError(grpc.status.ALREADY_EXISTS, "exists", "AlreadyExists");
      this.lease = clone(LeaseSchema, l);
      this.lease.metadata!.resourceVersion = String(++this.rv);
      return clone(LeaseSchema, this.lease);
    },
    update: async (l: Lease) => {
      this.check();
      if (!this.lease || l.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion)
        throw new ApiError(grpc.status.ABORTED, "conflict", "Conflict");
      this.lease = clone(LeaseSchema, create(LeaseSchema, l));
      this.lease.metadata!.resourceVersion = String(++this.rv);
      return clone(LeaseSchema, this.lease);
    },
  } as unknown as Pick<ApiClient, "get" | "create" | "update">;
}

const cfg = (identity: string, over: Partial<LeaderElectionConfig> = {}): LeaderElectionConfig => ({
  lockName: "kube-scheduler",
  lockNamespace: "kube-system",
  identity,
  leaseDurationMs: 8000,
  renewDeadlineMs: 6000,
  retryPeriodMs: 1000,
  releaseOnCancel: true,
  ...over,
});

/** A candidate and what it did: when it started and stopped leading. */
function candidate(leases: FakeLeases, identity: string, over: Partial<LeaderElectionConfig> = {}) {
  const log: string[] = [];
  const elector = new LeaderElector(leases.client, cfg(identity, over), {
    onStartedLeading: () => void log.push(`started ${Date.now()}`),
    onStoppedLeading: () => void log.push(`stopped ${Date.now()}`),
  });
  const stop = new AbortController();
  const done = elector.run(stop.signal);
  return { elector, log, stop: () => stop.abort(), done };
}

beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

describe("LeaderElector", () => {
  it("takes a lease nobody has, as Kubernetes writes it, and keeps renewing it", async () => {
    const leases = new FakeLeases();
    const a = candidate(leases, "node-a_1");
    await vi.advanceTimersByTimeAsync(10);
    expect(a.elector.isLeader).toBe(true);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "node-a_1", leaseDurationSeconds: 8, leaseTransitions: 0 });
    const firstRenew = leases.lease!.spec!.renewTime;
    await vi.advanceTimersByTimeAsync(3000);
    expect(leases.lease!.spec!.renewTime > firstRenew).toBe(true);
    expect(leases.lease!.spec!.acquireTime).toBe("1970-01-01T00:00:00.000000Z");
    a.stop();
    await a.done;
  });

  it("waits while the holder renews, and takes over a lease left unrenewed for its duration, counting the transition", async () => {
    const leases = new FakeLeases();
    const a = candidate(leases, "a", { releaseOnCancel: false });
    await vi.advanceTimersByTimeAsync(10);
    const b = candidate(leases, "b");
    await vi.advanceTimersByTimeAsync(20_000);
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    expect(b.elector.leader).toBe("a");
    // a dies without a word: its last renewal stays.
    a.stop();
    await a.done;
    const lastRenew = Date.parse(leases.lease!.spec!.renewTime);
    await vi.advanceTimersByTimeAsync(6000);
    expect(b.elector.isLeader).toBe(false); // within the lease duration, by b's clock
    await vi.advanceTimersByTimeAsync(6000);
    expect(b.elector.isLeader).toBe(true);
    const tookOver = Number(b.log.find((l) => l.startsWith("started"))!.split(" ")[1]);
    // b saw the last renewal up to a retry period (jittered) late, and tried again when it ran out.
    expect(tookOver - lastRenew).toBeGreaterThanOrEqual(8000);
    expect(tookOver - lastRenew).toBeLessThanOrEqual(8000 + 1200);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    b.stop();
    await b.done;
  });

  it("renews by writing the record it holds, without reading it first, and reads it when that write fails", async () => {
    const leases = new FakeLeases();
    const a = candidate(leases, "a");
    await vi.advanceTimersByTimeAsync(10);
    expect(a.elector.isLeader).toBe(true);
    const readsAfterAcquiring = leases.gets;
    const rv = leases.rv;
    await vi.advanceTimersByTimeAsync(5000);
    expect(leases.rv - rv).toBeGreaterThanOrEqual(4);
    expect(leases.gets).toBe(readsAfterAcquiring);
    // Another writer moved the record on: the next renewal conflicts, reads it, and renews from it.
    leases.lease = clone(LeaseSchema, leases.lease!);
    leases.lease.metadata!.resourceVersion = String(++leases.rv);
    await vi.advanceTimersByTimeAsync(1100);
    expect(leases.gets).toBe(readsAfterAcquiring + 1);
    expect(a.elector.isLeader).toBe(true);
    expect(leases.lease.spec!.holderIdentity).toBe("a");
    a.stop();
    await a.done;
  });

  it("tries again the moment the lease it saw runs out, not at its next retry", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const leases = new FakeLeases();
    leases.lease = create(LeaseSchema, {
      metadata: { name: "kube-scheduler", namespace: "kube-system", resourceVersion: "1" },
      spec: { holderIdentity: "gone", leaseDurationSeconds: 8, renewTime: "1970-01-01T00:00:00.000000Z", leaseTransitions: 0 },
    });
    const b = candidate(leases, "b");
    await vi.advanceTimersByTimeAsync(7990);
    expect(b.elector.isLeader).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(b.elector.isLeader).toBe(true);
    b.stop();
    await b.done;
    vi.restoreAllMocks();
  });

  it("stops acting once it could not renew within the renew deadline, before anyone else may take the lease", async () => {
    const leases = new FakeLeases();
    const a = candidate(leases, "a");
    await vi.advanceTimersByTimeAsync(10);
    expect(a.elector.isLeader).toBe(true);
    const lastRenew = Date.now();
    leases.down = true;
    await vi.advanceTimersByTimeAsync(8000);
    expect(a.elector.isLeader).toBe(false);
    const stoppedAt = Number(a.log.find((l) => l.startsWith("stopped"))!.split(" ")[1]);
    // Stopped within renew deadline + retry period of its last renewal: under the lease duration.
    expect(stoppedAt - lastRenew).toBeLessThan(8000);
    await a.done;
  });

  it("gives the lease up on a graceful stop, so a standby takes over at once", async () => {
    const leases = new FakeLeases();
    const a = candidate(leases, "a");
    await vi.advanceTimersByTimeAsync(10);
    const b = candidate(leases, "b");
    await vi.advanceTimersByTimeAsync(5000);
    a.stop();
    await a.done;
    expect(leases.lease?.spec?.holderIdentity).toBe("");
    const releasedAt = Date.now();
    await vi.advanceTimersByTimeAsync(1500);
    expect(b.elector.isLeader).toBe(true);
    expect(Date.now() - releasedAt).toBeLessThanOrEqual(1500);
    b.stop();
    await b.done;
  });

  it("releases the lease only once the component has stopped acting (work in flight finished)", async () => {
    const leases = new FakeLeases();
    const events: string[] = [];
    const elector = new LeaderElector(leases.client, cfg("a"), {
      onStartedLeading() {},
      // A bind in flight that takes 3 s to finish.
      onStoppedLeading: () =>
        new Promise<void>((r) =>
          setTimeout(() => {
            events.push(`stopped acting, holder ${JSON.stringify(leases.lease?.spec?.holderIdentity)}`);
            r();
          }, 3000),
        ),
    });
    const stop = new AbortController();
    const done = elector.run(stop.signal);
    await vi.advanceTimersByTimeAsync(10);
    stop.abort();
    await vi.advanceTimersByTimeAsync(4000);
    await done;
    expect(events).toEqual(['stopped acting, holder "a"']);
    expect(leases.lease?.spec?.holderIdentity).toBe("");
  });

  it("never lets two candidates lead at once, whatever the interleaving", async () => {
    const leases = new FakeLeases();
    const all = ["a", "b", "c"].map((id) => candidate(leases, id, { releaseOnCancel: false }));
    for (let t = 0; t < 60; t++) {
      await vi.advanceTimersByTimeAsync(500);
      expect(all.filter((c) => c.elector.isLeader).length).toBeLessThanOrEqual(1);
      if (t === 20) {
        const leader = all.find((c) => c.elector.isLeader)!;
        leader.stop();
        await leader.done;
      }
    }
    expect(all.filter((c) => c.elector.isLeader).length).toBe(1);
    for (const c of all) c.stop();
    await Promise.all(all.map((c) => c.done));
  });

  it("refuses settings where the holder could act after the others may take over", () => {
    expect(
      () =>
        new LeaderElector(new FakeLeases().client, cfg("a", { renewDeadlineMs: 9000 }), { onStartedLeading() {}, onStoppedLeading() {} }),
    ).toThrow(/lease duration must be longer than the renew deadline/);
  });
});
