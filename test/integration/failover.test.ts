import { create, toBinary } from "@bufbuild/protobuf";
import { Etcd3 } from "etcd3";
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
  it("starts an API server while writes pour in, and its cache holds every one of them", async () => {
    // More objects than the cache loads in one page, so its load reads etcd in several.
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      const names = Array.from({ length: 5200 }, (_, i) => `bulk-${String(i).padStart(5, "0")}`);
      for (let i = 0; i < names.length; i += 200)
        await Promise.all(
          names.slice(i, i + 200).map((name) => {
            const cm = create(ConfigMapSchema, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "bulk", uid: name } });
            return raw
              .put(`/registry/configmaps/bulk/${name}`)
              .value(Buffer.concat([Buffer.from("kubelab\0"), toBinary(ConfigMapSchema, cm)]));
          }),
        );
    } finally {
      raw.close();
    }
    const writer = new ApiClient(`127.0.0.1:${servers[1]!.port}`, { timeoutMs: 5000 });
    try {
      for (let round = 0; round < 4; round++) {
        const acked: string[] = [];
        let writing = true;
        const writeLoop = async (lane: number) => {
          for (let i = 0; writing; i++) {
            const name = `start-${round}-${lane}-${i}`;
            await writer.create(create(ConfigMapSchema, { metadata: { name, namespace: "default" } }));
            acked.push(name);
          }
        };
        const lanes = Array.from({ length: 16 }, (_, lane) => writeLoop(lane));
        await new Promise((r) => setTimeout(r, 300));
        // Its cache loads at one revision and watches from the next while the writes go on.
        const { server, client } = await startTestApiServer(etcd.endpoints);
        try {
          await new Promise((r) => setTimeout(r, 500));
          writing = false;
          await Promise.all(lanes);
          const held = new Set(
            (await client.listAll<ConfigMap>("configmaps", { namespace: "default" })).items.map((c) => c.metadata!.name),
          );
          expect(acked.filter((n) => !held.has(n))).toEqual([]);
        } finally {
          client.close();
          await server.close();
        }
      }
    } finally {
      writer.close();
    }
  });
});
