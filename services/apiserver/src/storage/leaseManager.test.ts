import { describe, expect, it } from "vitest";
import type { Etcd3 } from "etcd3";
import { LeaseManager } from "./leaseManager.js";

/** An etcd whose only use here is granting leases, recording each TTL. */
function fakeEtcd() {
  const grants: number[] = [];
  const etcd = {
    leaseClient: {
      leaseGrant: async (req: { TTL: number }) => {
        grants.push(req.TTL);
        return { ID: String(100 + grants.length), TTL: String(req.TTL) };
      },
    },
  } as unknown as Etcd3;
  return { etcd, grants };
}

describe("LeaseManager", () => {
  it("reuses one lease for the writes of a minute, with a TTL that outlives each key's by that minute", async () => {
    const { etcd, grants } = fakeEtcd();
    let now = 0;
    const leases = new LeaseManager(etcd, 1000, () => now);
    const first = await leases.leaseFor(3600);
    now += 59_000;
    expect(await leases.leaseFor(3600)).toBe(first);
    expect(grants).toEqual([3660]);
    now += 2_000; // past the reuse window: a key written now would outlive the lease's hour
    expect(await leases.leaseFor(3600)).not.toBe(first);
    expect(grants).toEqual([3660, 3660]);
  });

  it("grants once for concurrent writers, and per write when the TTL is too short to share", async () => {
    const { etcd, grants } = fakeEtcd();
    const leases = new LeaseManager(etcd, 1000, () => 0);
    const ids = await Promise.all([leases.leaseFor(600), leases.leaseFor(600), leases.leaseFor(600)]);
    expect(new Set(ids).size).toBe(1);
    expect(grants).toEqual([630]); // 5% of 600 s
    await leases.leaseFor(10);
    await leases.leaseFor(10);
    expect(grants).toEqual([630, 10, 10]);
  });

  it("never hands a writer a lease granted for another TTL", async () => {
    const { etcd, grants } = fakeEtcd();
    const leases = new LeaseManager(etcd, 1000, () => 0);
    const [long, short] = await Promise.all([leases.leaseFor(600), leases.leaseFor(10)]);
    expect(long).not.toBe(short);
    expect(grants).toEqual([630, 10]);
  });

  it("starts a new lease after 1000 keys", async () => {
    const { etcd, grants } = fakeEtcd();
    const leases = new LeaseManager(etcd, 1000, () => 0);
    for (let i = 0; i < 1001; i++) await leases.leaseFor(3600);
    expect(grants).toEqual([3660, 3660]);
  });
});
