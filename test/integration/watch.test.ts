import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clone, create, equals } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ConfigMapSchema, PodSchema, decodeObject, type ConfigMap, type Pod } from "@kubelab/api";
import { ApiError, type ApiClient, type WatchEvent } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

const cm = (name: string, labels: Record<string, string> = {}) =>
  create(ConfigMapSchema, { metadata: { name, namespace: "default", labels }, data: { v: "1" } });

/** Collects events from a watch until `n` have arrived (or fails after a generous timeout). */
async function take<T>(stream: AsyncIterable<WatchEvent<T>>, n: number, skipBookmarks = true): Promise<WatchEvent<T>[]> {
  const out: WatchEvent<T>[] = [];
  const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`only ${out.length}/${n} events arrived`)), 15_000));
  const collect = (async () => {
    for await (const ev of stream) {
      if (skipBookmarks && ev.type === "BOOKMARK") continue;
      out.push(ev);
      if (out.length >= n) return out;
    }
    return out;
  })();
  return Promise.race([collect, timeout]);
}

describe("watch", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints, { watchBookmarkIntervalSeconds: 1 }));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("streams ADDED, MODIFIED and DELETED from a list's resourceVersion", async () => {
    const list = await client.list(ConfigMapSchema, { namespace: "default" });
    const stream = client.watch(ConfigMapSchema, { namespace: "default", resourceVersion: list.resourceVersion });
    const events = take(stream, 3);
    const a = await client.create(cm("w-a"));
    await client.update({ ...a, data: { v: "2" } } as ConfigMap);
    await client.delete(ConfigMapSchema, "default", "w-a");
    const got = await events;
    stream.stop();
    expect(got.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(got[1].object.data).toEqual({ v: "2" });
    const rvs = got.map((e) => Number(e.resourceVersion));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
  });

  it("sends watchers, and answers writers with, exactly what a fresh server decodes from etcd", async () => {
    // The server hands its own writes to its watch cache instead of decoding them back from etcd;
    // what watchers get must not differ from what another server reads from storage.
    const list = await client.list(PodSchema, { namespace: "default" });
    const stream = client.watch(PodSchema, {
      namespace: "default",
      resourceVersion: list.resourceVersion,
      fieldSelector: "metadata.name=exact",
    });
    const events = take(stream, 4);
    const writes: Pod[] = [];
    writes.push(
      await client.create(
        decodeObject({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "exact", namespace: "default", labels: { app: "exact" }, annotations: { note: "ünïcode ✓" } },
          spec: {
            containers: [
              {
                name: "app",
                image: "kubelab/echo:dev",
                env: [{ name: "A", value: "" }],
                resources: { requests: { cpu: "100m", memory: "64Mi" } },
                readinessProbe: { httpGet: { path: "/", port: 8080 } },
              },
            ],
          },
        }).obj as Pod,
      ),
    );
    writes.push(await client.bind("default", "exact", "node-a"));
    const running = clone(PodSchema, writes[1]!);
    running.status!.phase = "Running";
    running.status!.podIp = "10.0.0.9";
    writes.push(await client.updateStatus(running));
    writes.push(await client.patch(PodSchema, "default", "exact", { metadata: { labels: { tier: "web" } } }));
    const got = await events;
    stream.stop();
    expect(got.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "MODIFIED", "MODIFIED"]);
    for (let i = 0; i < 4; i++) expect(equals(PodSchema, got[i]!.object, writes[i]!)).toBe(true);

    const other = await startTestApiServer(etcd.endpoints);
    try {
      const stored = await other.client.get(PodSchema, "default", "exact");
      expect(equals(PodSchema, stored, writes[3]!)).toBe(true);
      const [listed] = (await client.list(PodSchema, { namespace: "default", fieldSelector: "metadata.name=exact" })).items;
      expect(equals(PodSchema, listed!, stored)).toBe(true);
    } finally {
      other.client.close();
      await other.server.close();
    }
  });

  it("resumes from an older resourceVersion with every change since", async () => {
    const start = await client.create(cm("r-0"));
    for (let i = 1; i <= 5; i++) await client.create(cm(`r-${i}`));
    const stream = client.watch(ConfigMapSchema, { namespace: "default", resourceVersion: start.metadata!.resourceVersion });
    const got = await take(stream, 5);
    stream.stop();
    expect(got.map((e) => e.object.metadata!.name)).toEqual(["r-1", "r-2", "r-3", "r-4", "r-5"]);
  });

  it("without a resourceVersion, sends the current objects as ADDED first", async () => {
    const stream = client.watch(ConfigMapSchema, { namespace: "default", labelSelector: "set=initial" });
    await client.create(cm("i-1", { set: "initial" }));
    const got = await take(stream, 1);
    stream.stop();
    expect(got[0]).toMatchObject({ type: "ADDED" });
    const again = client.watch(ConfigMapSchema, { namespace: "default", labelSelector: "set=initial" });
    const replay = await take(again, 1);
    again.stop();
    expect(replay[0].object.metadata!.name).toBe("i-1");
  });

  it("filters by selector and says DELETED when an object stops matching", async () => {
    const list = await client.list(ConfigMapSchema, {});
    const stream = client.watch(ConfigMapSchema, { labelSelector: "tier=front", resourceVersion: list.resourceVersion });
    const events = take(stream, 2);
    const o = await client.create(cm("sel", { tier: "front" }));
    await client.create(cm("other", { tier: "back" }));
    await client.update({ ...o, metadata: { ...o.metadata!, labels: { tier: "back" } } } as ConfigMap);
    const got = await events;
    stream.stop();
    expect(got.map((e) => `${e.type} ${e.object.metadata!.name}`)).toEqual(["ADDED sel", "DELETED sel"]);
  });

  it("sends BOOKMARK events with a current resourceVersion when asked", async () => {
    const list = await client.list(ConfigMapSchema, {});
    const stream = client.watch(ConfigMapSchema, { resourceVersion: list.resourceVersion, allowWatchBookmarks: true });
    await client.create(create(ConfigMapSchema, { metadata: { name: "bm", namespace: "kube-system" } }));
    const got = await take(stream, 2, false);
    stream.stop();
    const bookmark = got.find((e) => e.type === "BOOKMARK");
    expect(bookmark).toBeDefined();
    expect(Number(bookmark!.resourceVersion)).toBeGreaterThan(Number(list.resourceVersion));
  });

  it("answers OUT_OF_RANGE for a resourceVersion older than the last compaction, for watch and continue", async () => {
    const old = await client.create(cm("c-0"));
    for (let i = 1; i < 6; i++) await client.create(cm(`c-${i}`));
    const page = await client.list(ConfigMapSchema, { namespace: "default", limit: 2 });
    expect(page.continue).not.toBe("");
    const latest = await client.create(cm("c-last"));
    await server.compactor.compactTo(Number(latest.metadata!.resourceVersion));
    const stream = client.watch(ConfigMapSchema, { resourceVersion: old.metadata!.resourceVersion });
    const err = await take(stream, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(grpc.status.OUT_OF_RANGE);
    expect((err as ApiError).message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
    const cont = await client.list(ConfigMapSchema, { namespace: "default", limit: 2, continue: page.continue }).catch((e: unknown) => e);
    expect((cont as ApiError).code).toBe(grpc.status.OUT_OF_RANGE);
    // A watch from the current version still works after compaction.
    const fresh = client.watch(ConfigMapSchema, { resourceVersion: latest.metadata!.resourceVersion });
    const ev = take(fresh, 1);
    await client.create(cm("after-compaction"));
    expect((await ev)[0].object.metadata!.name).toBe("after-compaction");
    fresh.stop();
  });

  it("serves 100 watchers from one etcd watch", async () => {
    const etcdWatchers = async () => {
      const all = await Promise.all(etcd.endpoints.map((e) => fetch(`${e}/metrics`).then((r) => r.text())));
      return all.map((text) => Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1] ?? "0")).reduce((a, b) => a + b, 0);
    };
    const before = await etcdWatchers();
    expect(before).toBeGreaterThan(0); // the API server's own watch: the metric is really read
    const list = await client.list(ConfigMapSchema, {});
    const streams = Array.from({ length: 100 }, () => client.watch(ConfigMapSchema, { resourceVersion: list.resourceVersion }));
    const all = streams.map((s) => take(s, 1));
    await client.create(cm("fanout"));
    const got = await Promise.all(all);
    expect(got.every((g) => g[0].object.metadata!.name === "fanout")).toBe(true);
    const during = await etcdWatchers();
    streams.forEach((s) => s.stop());
    expect(during - before).toBeLessThan(5);
  });
});
