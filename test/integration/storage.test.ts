import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { ApiService, ConfigMapSchema, GetRequestSchema, NamespaceSchema, type ConfigMap } from "@kubelab/api";
import { grpcServiceDefinition, type ApiClient, type WatchEvent } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";
import { eventually } from "../support/eventually.js";

const MAGIC = Buffer.from("kubelab\0");

describe("storage format on a 3-member etcd cluster", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let raw: Etcd3;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    raw = new Etcd3({ hosts: etcd.endpoints });
    await client.create(create(NamespaceSchema, { metadata: { name: "store" } }));
  });
  afterAll(async () => {
    raw?.close();
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("stores an object as kubelab\\0 and its protobuf encoding, without resourceVersion", async () => {
    const created = await client.create(
      create(ConfigMapSchema, { metadata: { name: "pb", namespace: "store", labels: { a: "b" } }, data: { k: "v ✓" } }),
    );
    const value = (await raw.get("/registry/configmaps/store/pb").buffer())!;
    expect(value.subarray(0, MAGIC.length)).toEqual(MAGIC);
    const stored = fromBinary(ConfigMapSchema, value.subarray(MAGIC.length));
    expect(stored.metadata!.resourceVersion).toBe("");
    expect(stored.metadata!.uid).toBe(created.metadata!.uid);
    expect(stored.data).toEqual({ k: "v ✓" });
  });

  it("answers with the stored bytes and the resourceVersion, which any protobuf parser reads as one object", async () => {
    const written = await client.update({ ...(await client.get(ConfigMapSchema, "store", "pb")), data: { k: "changed" } } as ConfigMap);
    const def = { ...grpcServiceDefinition(ApiService) };
    def.get = { ...def.get, responseDeserialize: (b: Buffer) => b };
    const Ctor = grpc.makeGenericClientConstructor(def, "ApiService");
    const rawApi = new Ctor(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      get(req: unknown, cb: (err: Error | null, res: Buffer) => void): void;
    };
    try {
      const bytes = await new Promise<Buffer>((resolve, reject) =>
        rawApi.get(create(GetRequestSchema, { resource: "configmaps", namespace: "store", name: "pb" }), (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
      // protobuf-es's own parser, not kubelab's: the two metadata occurrences merge.
      const got = fromBinary(ConfigMapSchema, fromBinary(AnySchema, bytes).value);
      expect(got.metadata!.resourceVersion).toBe(written.metadata!.resourceVersion);
      expect(got.metadata!.labels).toEqual({ a: "b" });
      expect(got.data).toEqual({ k: "changed" });
      expect(got).toEqual(await client.get(ConfigMapSchema, "store", "pb"));
    } finally {
      rawApi.close();
    }
  });

  it("reads objects stored as JSON by earlier versions: get, list, watch, and rewrites them as protobuf", async () => {
    const events: WatchEvent<ConfigMap>[] = [];
    const list = await client.list(ConfigMapSchema, { namespace: "store" });
    const watch = client.watch(ConfigMapSchema, { namespace: "store", resourceVersion: list.resourceVersion });
    void (async () => {
      for await (const ev of watch) events.push(ev);
    })();
    try {
      const legacy = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "legacy",
          namespace: "store",
          uid: "0b8f2a3c-0000-4f5a-8b9c-0d1e2f3a4b5c",
          creationTimestamp: "2025-01-01T00:00:00Z",
        },
        data: { old: "json" },
      };
      await raw.put("/registry/configmaps/store/legacy").value(JSON.stringify(legacy));
      const modRevision = (await raw.get("/registry/configmaps/store/legacy").exec()).kvs[0]!.mod_revision;
      const got = await client.get(ConfigMapSchema, "store", "legacy");
      expect(got.metadata!.resourceVersion).toBe(modRevision);
      expect(got.data).toEqual({ old: "json" });
      await eventually("the legacy object's watch event", async () =>
        expect(
          events.map((e) => `${e.type} ${e.object.metadata!.name} ${e.object.data.old} ${e.object.metadata!.resourceVersion}`),
        ).toContain(`ADDED legacy json ${modRevision}`),
      );
      expect((await client.list(ConfigMapSchema, { namespace: "store" })).items.map((c) => c.metadata!.name)).toContain("legacy");
      await client.patch(ConfigMapSchema, "store", "legacy", { data: { old: "rewritten" } });
      const value = (await raw.get("/registry/configmaps/store/legacy").buffer())!;
      expect(value.subarray(0, MAGIC.length)).toEqual(MAGIC);
      expect(fromBinary(ConfigMapSchema, value.subarray(MAGIC.length)).metadata!.uid).toBe(legacy.metadata.uid);
    } finally {
      watch.stop();
    }
  });
});
