import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigMapSchema, LeaseSchema, NodeSchema, PodSchema, type ConfigMap, type Lease, type Pod } from "@kubelab/api";
import type { RunningApiServer } from "@kubelab/apiserver";
import { ApiClient, Informer, isUnavailable } from "@kubelab/client";
import { defaultSchedulerConfig, startScheduler, type RunningScheduler } from "@kubelab/scheduler";
import { createLogger } from "@kubelab/service-kit";
import { eventually } from "../support/eventually.js";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

// A replicated control plane on one etcd cluster: three API servers, clients that know all of
// them, and leader-elected schedulers.
describe("a replicated control plane", () => {
  const etcd = new EtcdCluster();
  const servers: RunningApiServer[] = [];
  let addresses = "";

  beforeAll(async () => {
    await etcd.start();
    for (let i = 0; i < 3; i++) servers.push((await startTestApiServer(etcd.endpoints)).server);
    addresses = servers.map((s) => `127.0.0.1:${s.port}`).join(",");
  });
  afterAll(async () => {
    for (const s of servers) await s.close().catch(() => undefined);
    await etcd.stop();
  });

  it("keeps a client's writes and an informer's events whole while the API server it uses stops", async () => {
    const client = new ApiClient(addresses, { timeoutMs: 5000 });
    const informer = new Informer<ConfigMap>(client, "configmaps", { namespace: "default", maxBackoffMs: 500 });
    const added = new Map<string, number>();
    informer.addEventHandler({ onAdd: (cm) => added.set(cm.metadata!.name, (added.get(cm.metadata!.name) ?? 0) + 1) });
    await informer.start();

    const acked: string[] = [];
    let longestGapMs = 0;
    let lastAck = Date.now();
    const write = async (i: number) => {
      for (;;) {
        try {
          await client.create(create(ConfigMapSchema, { metadata: { name: `w-${i}`, namespace: "default" }, data: { i: String(i) } }));
          acked.push(`w-${i}`);
          longestGapMs = Math.max(longestGapMs, Date.now() - lastAck);
          lastAck = Date.now();
          return;
        } catch (e) {
          // A create that failed on the way may still have been written: retry until it exists.
          if ((e as { reason?: string }).reason === "AlreadyExists") {
            acked.push(`w-${i}`);
            return;
          }
          if (!isUnavailable(e)) throw e;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    for (let i = 0; i < 40; i++) await write(i);
    // The client's first address is the one pick_first connected to.
    await servers[0]!.close();
    for (let i = 40; i < 80; i++) await write(i);

    await eventually(
      "the informer has every acknowledged write",
      async () => expect(acked.filter((n) => !added.has(n))).toEqual([]),
      20_000,
    );
    expect([...added.values()].every((n) => n === 1)).toBe(true);
    expect(longestGapMs).toBeLessThan(5000);
    informer.stop();
    client.close();
  });

  it("runs one acting scheduler of two; a standby takes over when the leader stops, and only then binds", async () => {
    const address = servers
      .slice(1)
      .map((s) => `127.0.0.1:${s.port}`)
      .join(",");
    const client = new ApiClient(address);
    await client.create(
      create(NodeSchema, {
        metadata: { name: "n1" },
        status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
      }),
    );
    const settings = {
      server: address,
      metricsPort: 0,
      leaderElectLeaseDurationSeconds: 4,
      leaderElectRenewDeadlineSeconds: 3,
      leaderElectRetryPeriodSeconds: 0.5,
    };
    const log = createLogger("scheduler", () => {});
    const schedulers: RunningScheduler[] = [
      await startScheduler(defaultSchedulerConfig(settings), log),
      await startScheduler(defaultSchedulerConfig(settings), log),
    ];
    const lease = () => client.get<Lease>(LeaseSchema, "kube-system", "kube-scheduler");
    const first = await eventually("a leader", async () => {
      const l = await lease();
      expect(l.spec?.holderIdentity).toMatch(/^[^_]+_[0-9a-f-]{36}$/);
      return l;
    });
    const leaderStatus = async (s: RunningScheduler) => {
      const text = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
      return Number(/^leader_election_master_status\{name="kube-scheduler"[^}]*\} (\d)/m.exec(text)?.[1]);
    };
    const statuses = await Promise.all(schedulers.map(leaderStatus));
    expect(statuses.sort()).toEqual([0, 1]);
    const leaderIndex = (await Promise.all(schedulers.map(leaderStatus))).indexOf(1);

    await client.create(
      create(PodSchema, { metadata: { name: "before", namespace: "default" }, spec: { containers: [{ name: "c", image: "x" }] } }),
    );
    await eventually("bound by the leader", async () =>
      expect((await client.get<Pod>(PodSchema, "default", "before")).spec?.nodeName).toBe("n1"),
    );

    // A graceful stop gives the lease up: the standby takes it within a retry period or so.
    const stoppedAt = Date.now();
    await schedulers[leaderIndex]!.close();
    const second = await eventually(
      "the standby leads",
      async () => {
        const l = await lease();
        expect(l.spec?.holderIdentity).not.toBe(first.spec?.holderIdentity);
        expect(l.spec?.holderIdentity).not.toBe("");
        return l;
      },
      20_000,
      100,
    );
    expect(Date.now() - stoppedAt).toBeLessThan(4000);
    expect(second.spec?.leaseTransitions).toBe((first.spec?.leaseTransitions ?? 0) + 1);
    await client.create(
      create(PodSchema, { metadata: { name: "after", namespace: "default" }, spec: { containers: [{ name: "c", image: "x" }] } }),
    );
    await eventually("bound by the new leader", async () =>
      expect((await client.get<Pod>(PodSchema, "default", "after")).spec?.nodeName).toBe("n1"),
    );
    expect(await leaderStatus(schedulers[1 - leaderIndex]!)).toBe(1);
    await schedulers[1 - leaderIndex]!.close();
    client.close();
  });
});
