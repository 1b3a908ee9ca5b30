import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import type { RunningApiServer } from "@kubelab/apiserver";
import type { ApiClient } from "@kubelab/client";
// @ts-expect-error an example in plain JavaScript, as its users write it, without type declarations
import * as example from "../../examples/clients/node/kubelabClient.mjs";
import { eventually } from "../support/eventually.js";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

// The example client of docs/grpc-clients.md, written with @grpc/proto-loader and protobufjs
// (another protobuf implementation than the project's), with gRPC's default channel settings.
interface ObjectView {
  metadata: { name: string; namespace: string; resource_version: string; uid: string };
  data: Record<string, string>;
}
interface ExampleApi {
  apiResources(): Promise<
    Array<{ name: string; kind: string; namespaced: boolean; short_names: string[]; message_type: string; verbs: string[] }>
  >;
  create(messageType: string, object: object): Promise<ObjectView>;
  get(resource: string, namespace: string, name: string): Promise<ObjectView>;
  list(resource: string, opts?: object): Promise<{ resourceVersion: string; continue: string; items: ObjectView[] }>;
  update(messageType: string, object: object): Promise<ObjectView>;
  delete(resource: string, namespace: string, name: string, gracePeriodSeconds?: number): Promise<{ object: ObjectView; removed: boolean }>;
  watch(
    resource: string,
    opts: object,
    onEvent: (type: string, obj: ObjectView | null) => void,
    onError?: (e: grpc.ServiceError) => void,
  ): { cancel(): void };
  close(): void;
}
const connect = (example as { connect(address: string): ExampleApi }).connect;

describe("a client written with @grpc/proto-loader from proto/", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let api: ExampleApi;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    api = connect(`127.0.0.1:${server.port}`);
  });
  afterAll(async () => {
    api?.close();
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("finds the resources by discovery: names, kinds, scope, short names, the message of each", async () => {
    const resources = await api.apiResources();
    const pods = resources.find((r) => r.name === "pods")!;
    expect(pods).toMatchObject({ kind: "Pod", namespaced: true, short_names: ["po"], message_type: "kubelab.core.v1.Pod" });
    expect(pods.verbs).toEqual(["create", "delete", "get", "list", "patch", "update", "watch"]);
    expect(resources.find((r) => r.name === "nodes")).toMatchObject({ kind: "Node", namespaced: false });
    expect(resources.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        "configmaps",
        "deployments",
        "endpoints",
        "events",
        "jobs",
        "leases",
        "namespaces",
        "pods/status",
        "pods/binding",
        "pods/log",
        "replicasets",
        "secrets",
        "services",
      ]),
    );
  });

  it("creates, lists, watches, meets a conflict, and deletes", async () => {
    const start = await api.list("configmaps", { namespace: "default" });
    const seen: string[] = [];
    const watch = api.watch("configmaps", { namespace: "default", resourceVersion: start.resourceVersion }, (type, obj) => {
      if (type !== "BOOKMARK") seen.push(`${type} ${obj!.metadata.name} ${JSON.stringify(obj!.data)}`);
    });
    try {
      const created = await api.create("kubelab.core.v1.ConfigMap", {
        metadata: { name: "other", namespace: "default" },
        data: { a: "1" },
      });
      expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      const listed = await api.list("configmaps", { namespace: "default" });
      expect(listed.items.map((i) => i.metadata.name)).toContain("other");

      const updated = await api.update("kubelab.core.v1.ConfigMap", { ...created, data: { a: "2" } });
      expect(Number(updated.metadata.resource_version)).toBeGreaterThan(Number(created.metadata.resource_version));
      const stale = await api.update("kubelab.core.v1.ConfigMap", { ...created, data: { a: "3" } }).catch((e: grpc.ServiceError) => e);
      expect((stale as grpc.ServiceError).code).toBe(grpc.status.ABORTED);
      expect((stale as grpc.ServiceError).details).toBe(
        'Operation cannot be fulfilled on configmaps "other": the object has been modified; please apply your changes to the latest version and try again',
      );
      expect((stale as grpc.ServiceError).metadata.get("kubelab-reason")).toEqual(["Conflict"]);

      const deleted = await api.delete("configmaps", "default", "other", 0);
      expect(deleted.removed).toBe(true);
      const missing = await api.get("configmaps", "default", "other").catch((e: grpc.ServiceError) => e);
      expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);

      await eventually("the watch's three events", async () =>
        expect(seen).toEqual(['ADDED other {"a":"1"}', 'MODIFIED other {"a":"2"}', 'DELETED other {"a":"2"}']),
      );
    } finally {
      watch.cancel();
    }
  });

  it("sends a grace period of 0 as a force delete, not as an absent field", async () => {
    // A pod's deletion waits for its kubelet unless the grace period is 0; a client whose protoc
    // dropped `optional` would send nothing and get the 30 s default instead.
    await client.create({
      $typeName: "kubelab.core.v1.Pod",
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "forced", namespace: "default" },
      spec: { containers: [{ name: "c", image: "x" }], nodeName: "somewhere" },
    } as never);
    expect((await api.delete("pods", "default", "forced", 0)).removed).toBe(true);
    await client.create({
      $typeName: "kubelab.core.v1.Pod",
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "graceful", namespace: "default" },
      spec: { containers: [{ name: "c", image: "x" }], nodeName: "somewhere" },
    } as never);
    const graceful = await api.delete("pods", "default", "graceful");
    expect(graceful.removed).toBe(false);
    expect(graceful.object.metadata).toMatchObject({ deletion_grace_period_seconds: 30 });
  });
});
