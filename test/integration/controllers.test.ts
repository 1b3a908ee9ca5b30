import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeObject, type Endpoints, type Pod, type ReplicaSet } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { defaultControllerManagerConfig, startControllerManager, type RunningControllerManager } from "@kubelab/controller-manager";
import { createLogger } from "@kubelab/service-kit";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";
import { eventually as eventuallyWithin } from "../support/eventually.js";

// Controllers against a real API server on a real 3-member etcd. No scheduler or kubelet runs:
// pods stay Pending, which is all ReplicaSets and the garbage collector need.

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000) => eventuallyWithin(what, fn, timeoutMs, 100);

const replicaSet = (name: string, ns: string, replicas: number) =>
  decodeObject({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "kubelab/echo:dev" }] } },
    },
  }).obj as ReplicaSet;

describe("controllers against a real API server", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let cm: RunningControllerManager;
  const podsOf = async (ns: string, app: string) => (await client.list<Pod>("pods", { namespace: ns, labelSelector: `app=${app}` })).items;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    cm = await startControllerManager(
      defaultControllerManagerConfig({ server: `127.0.0.1:${server.port}`, metricsPort: 0 }),
      createLogger("controller-manager", () => {}),
    );
    await client.create(decodeObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gc" } }).obj);
  });
  afterAll(async () => {
    await cm?.close();
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("keeps replicas, adopts a matching orphan and releases a pod whose labels change", async () => {
    const orphan = decodeObject({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "orphan", namespace: "gc", labels: { app: "keep" } },
      spec: { containers: [{ name: "c", image: "i:1" }] },
    }).obj;
    await client.create(orphan);
    await client.create(replicaSet("keep", "gc", 3));
    const pods = await eventually("3 pods", async () => {
      const p = await podsOf("gc", "keep");
      expect(p).toHaveLength(3);
      return p;
    });
    expect(pods.find((p) => p.metadata!.name === "orphan")?.metadata?.ownerReferences[0]?.kind).toBe("ReplicaSet");
    const released = pods.find((p) => p.metadata!.name !== "orphan")!;
    await client.patch("pods", "gc", released.metadata!.name, { metadata: { labels: { app: "gone" } } });
    await eventually("the released pod replaced and without owner", async () => {
      expect(await podsOf("gc", "keep")).toHaveLength(3);
      expect((await client.get<Pod>("pods", "gc", released.metadata!.name)).metadata!.ownerReferences).toEqual([]);
    });
    const rs = await eventually("status", async () => {
      const r = await client.get<ReplicaSet>("replicasets", "gc", "keep");
      expect(r.status?.replicas).toBe(3);
      expect(r.status?.observedGeneration).toBe(r.metadata!.generation);
      return r;
    });
    expect(rs.status!.readyReplicas).toBe(0);
  });

  it("deletes dependents in the background, first in the foreground, and leaves them with orphan", async () => {
    for (const name of ["bg", "fg", "orph"]) await client.create(replicaSet(name, "gc", 2));
    for (const name of ["bg", "fg", "orph"]) await eventually(`${name} pods`, async () => expect(await podsOf("gc", name)).toHaveLength(2));

    await client.delete("replicasets", "gc", "bg", { propagationPolicy: "Background" });
    await eventually("background dependents gone", async () => expect(await podsOf("gc", "bg")).toEqual([]));

    const fg = await client.delete("replicasets", "gc", "fg", { propagationPolicy: "Foreground" });
    expect(fg.removed).toBe(false);
    expect(fg.object.metadata!.finalizers).toContain("foregroundDeletion");
    await eventually("the foreground owner gone after its pods", async () => {
      expect(await podsOf("gc", "fg")).toEqual([]);
      const left = await client.list("replicasets", { namespace: "gc", fieldSelector: "metadata.name=fg" });
      expect(left.items).toEqual([]);
    });

    await client.delete("replicasets", "gc", "orph", { propagationPolicy: "Orphan" });
    await eventually("orphaned pods kept without owner", async () => {
      const left = await client.list("replicasets", { namespace: "gc", fieldSelector: "metadata.name=orph" });
      expect(left.items).toEqual([]);
      const pods = await podsOf("gc", "orph");
      expect(pods).toHaveLength(2);
      expect(pods.every((p) => p.metadata!.ownerReferences.length === 0)).toBe(true);
    });
  });

  it("keeps a Service's Endpoints in step with its pods' readiness", async () => {
    await client.create(
      decodeObject({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "keep", namespace: "gc" },
        spec: { selector: { app: "keep" }, ports: [{ port: 80, targetPort: 8080 }] },
      }).obj,
    );
    const pods = await podsOf("gc", "keep");
    // No kubelet here: the test plays its part and writes the pods' addresses and readiness.
    const setStatus = (p: Pod, ip: string, ready: boolean) =>
      client.updateStatus({
        ...p,
        metadata: { ...p.metadata!, resourceVersion: "" },
        status: {
          ...p.status!,
          podIp: ip,
          conditions: [
            {
              $typeName: "kubelab.core.v1.PodCondition",
              type: "Ready",
              status: ready ? "True" : "False",
              lastProbeTime: "",
              lastTransitionTime: "",
              reason: "",
              message: "",
            },
          ],
        },
      });
    await Promise.all(pods.map((p, i) => setStatus(p, `10.1.0.${i + 1}`, i !== 0)));
    const ips = async () => {
      const ep = await client.get<Endpoints>("endpoints", "gc", "keep");
      return {
        ready: ep.subsets.flatMap((s) => s.addresses.map((a) => a.ip)),
        notReady: ep.subsets.flatMap((s) => s.notReadyAddresses.map((a) => a.ip)),
        ports: ep.subsets.flatMap((s) => s.ports.map((p) => p.port)),
      };
    };
    await eventually("endpoints", async () =>
      expect(await ips()).toEqual({ ready: ["10.1.0.2", "10.1.0.3"], notReady: ["10.1.0.1"], ports: [8080] }),
    );
    await setStatus(await client.get<Pod>("pods", "gc", pods[0]!.metadata!.name), "10.1.0.1", true);
    await eventually("the pod ready in the endpoints", async () =>
      expect((await ips()).ready).toEqual(["10.1.0.1", "10.1.0.2", "10.1.0.3"]),
    );
    await client.delete("services", "gc", "keep");
    await eventually("endpoints gone with the service", async () =>
      expect((await client.list("endpoints", { namespace: "gc" })).items).toEqual([]),
    );
  });

  it("deletes everything in a namespace before the namespace itself", async () => {
    await client.create(decodeObject({ apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } }).obj);
    await client.create(replicaSet("web", "doomed", 2));
    await client.create(
      decodeObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "doomed" }, data: { a: "1" } }).obj,
    );
    await eventually("pods", async () => expect(await podsOf("doomed", "web")).toHaveLength(2));
    const del = await client.delete("namespaces", "", "doomed");
    expect(del.removed).toBe(false);
    expect((del.object as { status?: { phase: string } }).status?.phase).toBe("Terminating");
    await expect(
      client.create(decodeObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "late", namespace: "doomed" } }).obj),
    ).rejects.toThrow(/unable to create new content in namespace doomed because it is being terminated/);
    await eventually("the namespace gone", async () => {
      const left = await client.list("namespaces", { fieldSelector: "metadata.name=doomed" });
      expect(left.items).toEqual([]);
    });
    for (const r of ["pods", "replicasets", "configmaps"]) expect((await client.list(r, { namespace: "doomed" })).items).toEqual([]);
  });
});
