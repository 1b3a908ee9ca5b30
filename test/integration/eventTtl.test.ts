import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ConfigMapSchema, NamespaceSchema, decodeObject, type Event } from "@kubelab/api";
import { isNotFound, type ApiClient, type WatchEvent } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";
import { eventually } from "../support/eventually.js";

const event = (name: string) =>
  decodeObject({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace: "ttl" },
    involvedObject: { kind: "ConfigMap", name: "kept", namespace: "ttl" },
    reason: "Tested",
    message: "short-lived",
    type: "Normal",
    count: 1,
  }).obj as Event;

describe("Event TTL (--event-ttl) on a 3-member etcd cluster", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints, { eventTtlSeconds: 4 }));
    await client.create(create(NamespaceSchema, { metadata: { name: "ttl" } }));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("lets etcd delete an Event its TTL after its last write, and tells watchers; other kinds stay", async () => {
    const list = await client.list("events", { namespace: "ttl" });
    const events: WatchEvent<Event>[] = [];
    const stream = client.watch<Event>("events", { namespace: "ttl", resourceVersion: list.resourceVersion });
    void (async () => {
      for await (const ev of stream) if (ev.type !== "BOOKMARK") events.push(ev);
    })();
    await client.create(create(ConfigMapSchema, { metadata: { name: "kept", namespace: "ttl" } }));
    await client.create(event("early"));
    await client.create(event("patched"));
    await new Promise((r) => setTimeout(r, 3000));
    // A write renews the TTL: "patched" is written again, under a new lease, before "early" expires.
    await client.patch("events", "ttl", "patched", { count: 2 });
    await eventually(
      "the first Event to expire",
      async () => expect(isNotFound(await client.get("events", "ttl", "early").catch((e) => e))).toBe(true),
      20_000,
    );
    expect((await client.get<Event>("events", "ttl", "patched")).count).toBe(2);
    await eventually(
      "the patched Event to expire",
      async () => expect(isNotFound(await client.get("events", "ttl", "patched").catch((e) => e))).toBe(true),
      20_000,
    );
    await eventually(
      "DELETED events",
      async () => expect(events.filter((e) => e.type === "DELETED").map((e) => e.object.metadata!.name)).toEqual(["early", "patched"]),
      10_000,
    );
    stream.stop();
    expect((await client.get("configmaps", "ttl", "kept")).metadata!.name).toBe("kept");
  });
});
