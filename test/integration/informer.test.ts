import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ConfigMapSchema, type ConfigMap } from "@kubelab/api";
import { ApiClient, Informer, WorkQueue, runWorkers } from "@kubelab/client";
import { startApiServer, defaultApiServerConfig, type RunningApiServer } from "@kubelab/apiserver";
import { createLogger } from "@kubelab/service-kit";
import { EtcdCluster, freePort } from "../support/etcdCluster.js";

const quiet = createLogger("apiserver", () => {});
const cm = (name: string, ns = "default") => create(ConfigMapSchema, { metadata: { name, namespace: ns }, data: { v: "1" } });

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("informer", () => {
  const etcd = new EtcdCluster();
  let port: number;
  let server: RunningApiServer;
  const start = () =>
    startApiServer(
      defaultApiServerConfig({
        etcdServers: etcd.endpoints,
        bindAddress: "127.0.0.1",
        port,
        httpPort: 0,
        metricsPort: 0,
        watchBookmarkIntervalSeconds: 1,
      }),
      quiet,
    );

  beforeAll(async () => {
    await etcd.start();
    port = await freePort();
    server = await start();
  });
  afterAll(async () => {
    await server?.close();
    await etcd.stop();
  });

  it("lists, then follows changes into its indexed cache", async () => {
    const client = new ApiClient(`127.0.0.1:${port}`);
    await client.create(cm("pre-1"));
    const inf = new Informer(client, ConfigMapSchema, { namespace: "default" });
    inf.indexer.addIndex("byValue", (o) => [(o as ConfigMap).data.v ?? ""]);
    const seen: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => seen.push(`add ${o.metadata!.name}`),
      onUpdate: (_, n) => seen.push(`update ${n.metadata!.name}`),
      onDelete: (o) => seen.push(`delete ${o.metadata!.name}`),
    });
    await inf.start();
    expect(inf.get("default/pre-1")).toBeDefined();
    const a = await client.create(cm("live-1"));
    await client.update({ ...a, data: { v: "2" } } as ConfigMap);
    await client.delete(ConfigMapSchema, "default", "pre-1");
    await until("events", () => seen.length >= 4);
    expect(seen).toEqual(["add pre-1", "add live-1", "update live-1", "delete pre-1"]);
    expect(inf.indexer.byIndex("byValue", "2").map((o) => o.metadata!.name)).toEqual(["live-1"]);
    inf.stop();
    client.close();
  });

  it("reconnects after an API server restart and relists when its version was compacted meanwhile", async () => {
    const client = new ApiClient(`127.0.0.1:${port}`);
    const inf = new Informer(client, ConfigMapSchema, { namespace: "kube-public", maxBackoffMs: 500 });
    await inf.start();
    const relistsBefore = inf.relists;
    await server.close();
    // While the informer's server is away, another writes and compacts past its resourceVersion.
    const other = await startApiServer(
      defaultApiServerConfig({ etcdServers: etcd.endpoints, bindAddress: "127.0.0.1", port: 0, httpPort: 0, metricsPort: 0 }),
      quiet,
    );
    const otherClient = new ApiClient(`127.0.0.1:${other.port}`);
    let last: ConfigMap | undefined;
    for (let i = 0; i < 5; i++) last = await otherClient.create(cm(`while-away-${i}`, "kube-public"));
    await other.compactor.compactTo(Number(last!.metadata!.resourceVersion));
    otherClient.close();
    await other.close();
    server = await start();
    // The restarted server has not compacted, but etcd has: its cache starts after the compaction,
    // so the informer's old version is too old for it and the informer must relist.
    await until("relist", () => inf.list().length === 5);
    expect(inf.relists).toBeGreaterThan(relistsBefore);
    await client.create(cm("after-restart", "kube-public"));
    await until("watch resumed", () => inf.get("kube-public/after-restart") !== undefined);
    inf.stop();
    client.close();
  });

  it("drives a work queue: each key reconciled, never twice at once, failures retried", async () => {
    const client = new ApiClient(`127.0.0.1:${port}`);
    const inf = new Informer(client, ConfigMapSchema, { namespace: "kube-node-lease" });
    const queue = new WorkQueue<string>({ baseDelayMs: 5, maxDelayMs: 100 });
    const enqueue = (o: ConfigMap) => queue.add(`${o.metadata!.namespace}/${o.metadata!.name}`);
    inf.addEventHandler({ onAdd: enqueue, onUpdate: (_, n) => enqueue(n) });
    await inf.start();
    const active = new Set<string>();
    const done = new Set<string>();
    let overlap = false;
    let failures = 0;
    const workers = runWorkers(queue, 4, async (key) => {
      if (active.has(key)) overlap = true;
      active.add(key);
      await new Promise((r) => setTimeout(r, 5));
      active.delete(key);
      if (key.endsWith("-3") && failures < 2) {
        failures++;
        throw new Error("transient");
      }
      done.add(key);
    });
    for (let i = 0; i < 10; i++) await client.create(cm(`q-${i}`, "kube-node-lease"));
    await until("all reconciled", () => done.size === 10);
    expect(overlap).toBe(false);
    expect(failures).toBe(2);
    queue.shutdown();
    await workers;
    inf.stop();
    client.close();
  });
});
