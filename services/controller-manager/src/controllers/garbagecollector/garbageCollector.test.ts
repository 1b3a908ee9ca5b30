import { create } from "@bufbuild/protobuf";
import { LeaseSchema, PodSchema, ReplicaSetSchema, type KubeObject, type OwnerReference, type Pod, type ReplicaSet } from "@kubelab/api";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { drainQueue, newFixture, type Fixture } from "../testing/fakes.js";
import { GarbageCollector } from "./garbageCollector.js";

// After sample-controller's controller_test.go: informers fed by hand, a fake client, reconcile
// called directly, the client's actions compared with what the rule expects.

const ref = (kind: string, name: string, extra: Partial<OwnerReference> = {}): OwnerReference =>
  ({
    $typeName: "kubelab.meta.v1.OwnerReference",
    apiVersion: kind === "Node" ? "v1" : "apps/v1",
    kind,
    name,
    uid: `uid-${name}`,
    controller: true,
    blockOwnerDeletion: true,
    ...extra,
  }) as OwnerReference;

const rs = (name: string, meta: { deleting?: string[]; uid?: string } = {}): ReplicaSet =>
  create(ReplicaSetSchema, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace: "default",
      uid: meta.uid ?? `uid-${name}`,
      resourceVersion: "10",
      deletionTimestamp: meta.deleting ? "2026-01-01T00:00:00Z" : "",
      finalizers: meta.deleting ?? [],
    },
  });

const pod = (name: string, owners: OwnerReference[], meta: { deleting?: boolean } = {}): Pod =>
  create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      resourceVersion: "20",
      ownerReferences: owners,
      deletionTimestamp: meta.deleting ? "2026-01-01T00:00:00Z" : "",
    },
  });

const uids = (o: KubeObject | undefined) => o?.metadata?.ownerReferences.map((r) => r.uid);

describe("GarbageCollector.reconcile", () => {
  let f: Fixture;
  let gc: GarbageCollector;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-03-01T12:00:00Z"));
    f = newFixture();
  });

  afterEach(() => {
    gc?.stop();
    vi.useRealTimers();
  });

  /** Seeds the store and the caches, makes the collector, and takes the keys its handlers queued for what was cached. */
  const start = async (...objs: KubeObject[]) => {
    f.seed(...objs);
    gc = new GarbageCollector(f.ctx);
    return drain();
  };

  const drain = () => drainQueue(gc.queue);

  describe("a dependent", () => {
    it("whose owner is gone is deleted in the background, with its uid as precondition", async () => {
      await start(pod("web-1", [ref("ReplicaSet", "web")]));

      await gc.reconcile("pods|default/web-1");

      // The cache's "absent" is confirmed by a read before anything is deleted.
      expect(f.client.actions.map((a) => [a.verb, a.resource, `${a.namespace}/${a.name}`])).toEqual([
        ["get", "replicasets", "default/web"],
        ["delete", "pods", "default/web-1"],
      ]);
      expect(f.client.writes()[0]!.deleteOptions).toEqual({ preconditions: { uid: "uid-web-1" }, propagationPolicy: "Background" });
      expect(f.client.object("pods", "default", "web-1")).toBeUndefined();
    });

    it("whose owner was replaced by a namesake with another uid counts as orphaned and is deleted", async () => {
      await start(rs("web", { uid: "uid-web-2" }), pod("web-1", [ref("ReplicaSet", "web")]));

      await gc.reconcile("pods|default/web-1");

      expect(f.client.writes().map((a) => [a.verb, a.resource, a.name])).toEqual([["delete", "pods", "web-1"]]);
    });

    it("whose owner exists is kept, even when the owner is not cached yet (read from the API)", async () => {
      await start(pod("web-1", [ref("ReplicaSet", "web")]));
      f.client.seed(rs("web"));

      await gc.reconcile("pods|default/web-1");

      expect(f.client.actions.map((a) => a.verb)).toEqual(["get"]);
      expect(f.client.object("pods", "default", "web-1")).toBeDefined();
    });

    it("whose owner is cached is kept without a read", async () => {
      await start(rs("web"), pod("web-1", [ref("ReplicaSet", "web")]));

      await gc.reconcile("pods|default/web-1");

      expect(f.client.actions).toEqual([]);
    });

    it("with one owner gone and one alive loses only the dead reference", async () => {
      await start(rs("alive"), pod("web-1", [ref("ReplicaSet", "gone"), ref("ReplicaSet", "alive", { controller: false })]));

      await gc.reconcile("pods|default/web-1");

      const [patch, ...rest] = f.client.writes();
      expect(rest).toEqual([]);
      expect([patch!.verb, patch!.resource, patch!.name]).toEqual(["patch", "pods", "web-1"]);
      expect(patch!.patch).toEqual({
        metadata: {
          ownerReferences: [
            { apiVersion: "apps/v1", kind: "ReplicaSet", name: "alive", uid: "uid-alive", controller: false, blockOwnerDeletion: true },
          ],
        },
      });
      expect(uids(f.client.object("pods", "default", "web-1"))).toEqual(["uid-alive"]);
    });

    it("owned by a kind the collector does not know is never collected", async () => {
      await start(pod("web-1", [ref("Widget", "w", { apiVersion: "example.com/v1" })]));

      await gc.reconcile("pods|default/web-1");

      expect(f.client.actions).toEqual([]);
    });

    it("of a cluster-scoped owner is looked up without a namespace (a node's Lease)", async () => {
      const lease = create(LeaseSchema, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: "node-1",
          namespace: "kube-node-lease",
          uid: "uid-lease",
          ownerReferences: [ref("Node", "node-1", { controller: false })],
        },
      });
      await start(lease);

      await gc.reconcile("leases|kube-node-lease/node-1");

      expect(f.client.actions.map((a) => [a.verb, a.resource, `${a.namespace}/${a.name}`])).toEqual([
        ["get", "nodes", "/node-1"],
        ["delete", "leases", "kube-node-lease/node-1"],
      ]);
    });

    it("whose owner is being deleted in the foreground is deleted in the foreground", async () => {
      await start(rs("web", { deleting: ["foregroundDeletion"] }), pod("web-1", [ref("ReplicaSet", "web")]));

      await gc.reconcile("pods|default/web-1");

      const deletes = f.client.writes().filter((a) => a.resource === "pods");
      expect(deletes.map((a) => [a.verb, a.name, a.deleteOptions?.propagationPolicy])).toEqual([["delete", "web-1", "Foreground"]]);
    });

    it("that is gone from the cache is not acted on", async () => {
      await start();

      await gc.reconcile("pods|default/web-1");

      expect(f.client.actions).toEqual([]);
    });

    it("deleted meanwhile (NotFound) or replaced (its uid precondition fails) is no error, and a replacement is kept", async () => {
      await start();
      // Cached, but no longer stored.
      f.informers.seed(pod("web-1", [ref("ReplicaSet", "web")]), pod("web-2", [ref("ReplicaSet", "web")]));
      const replacement = pod("web-2", []);
      replacement.metadata!.uid = "uid-web-2-new";
      f.client.seed(replacement);

      await expect(gc.reconcile("pods|default/web-1")).resolves.toBeUndefined();
      await expect(gc.reconcile("pods|default/web-2")).resolves.toBeUndefined();

      expect(f.client.writes().map((a) => [a.verb, a.name, a.deleteOptions?.preconditions?.uid])).toEqual([
        ["delete", "web-1", "uid-web-1"],
        ["delete", "web-2", "uid-web-2"],
      ]);
      expect(f.client.object("pods", "default", "web-2")?.metadata?.uid).toBe("uid-web-2-new");
    });
  });

  describe("an owner deleted with propagationPolicy Orphan", () => {
    it("has its references removed from its dependents, which stay, then loses the orphan finalizer", async () => {
      await start(
        rs("web", { deleting: ["orphan"] }),
        pod("web-1", [ref("ReplicaSet", "web")]),
        pod("web-2", [ref("ReplicaSet", "web"), ref("ReplicaSet", "other", { controller: false })]),
      );

      await gc.reconcile("replicasets|default/web");

      expect(f.client.writes().map((a) => [a.verb, a.resource, a.name])).toEqual([
        ["patch", "pods", "web-1"],
        ["patch", "pods", "web-2"],
        ["patch", "replicasets", "web"],
      ]);
      expect(uids(f.client.object("pods", "default", "web-1"))).toEqual([]);
      expect(uids(f.client.object("pods", "default", "web-2"))).toEqual(["uid-other"]);
      // The finalizer's removal pins the owner's resourceVersion.
      const stored = f.client.object("replicasets", "default", "web");
      expect(f.client.writes()[2]!.patch).toEqual({ metadata: { finalizers: [], resourceVersion: expect.any(String) } });
      // Its last finalizer gone, the owner being deleted goes.
      expect(stored).toBeUndefined();
      expect(f.client.objects("pods").map((p) => p.metadata!.name)).toEqual(["web-1", "web-2"]);
    });

    it("with no dependents just loses the orphan finalizer, other finalizers kept", async () => {
      await start(rs("web", { deleting: ["orphan", "example.com/keep"] }));

      await gc.reconcile("replicasets|default/web");

      expect(f.client.writes().map((a) => a.patch)).toEqual([
        { metadata: { finalizers: ["example.com/keep"], resourceVersion: expect.any(String) } },
      ]);
      expect(f.client.object("replicasets", "default", "web")?.metadata?.finalizers).toEqual(["example.com/keep"]);
    });

    it("changed since it was cached keeps its finalizer (the pinned resourceVersion conflicts) and reconcile does not fail", async () => {
      await start(rs("web", { deleting: ["orphan"] }));
      const newer = rs("web", { deleting: ["orphan"] });
      newer.metadata!.resourceVersion = "11";
      f.client.seed(newer); // a new resourceVersion in the store, not yet in the cache

      await expect(gc.reconcile("replicasets|default/web")).resolves.toBeUndefined();

      expect(f.client.object("replicasets", "default", "web")?.metadata?.finalizers).toEqual(["orphan"]);
    });
  });

  describe("an owner deleted with propagationPolicy Foreground", () => {
    it("waits for its blocking dependents: deletes them in the foreground, keeps its finalizer and looks again in a second", async () => {
      await start(
        rs("web", { deleting: ["foregroundDeletion"] }),
        pod("web-1", [ref("ReplicaSet", "web")]),
        pod("web-2", [ref("ReplicaSet", "web")], { deleting: true }),
      );

      await gc.reconcile("replicasets|default/web");

      // web-2 is already being deleted: it is waited for, not deleted again.
      expect(f.client.writes().map((a) => [a.verb, a.resource, a.name, a.deleteOptions?.propagationPolicy])).toEqual([
        ["delete", "pods", "web-1", "Foreground"],
      ]);
      expect(f.client.object("replicasets", "default", "web")?.metadata?.finalizers).toEqual(["foregroundDeletion"]);
      expect(gc.queue.length).toBe(0);
      vi.advanceTimersByTime(1000);
      expect(gc.queue.length).toBe(1);
    });

    it("goes once its dependents are gone: the foregroundDeletion finalizer is removed", async () => {
      await start(rs("web", { deleting: ["foregroundDeletion"] }), pod("web-1", [ref("ReplicaSet", "web")]));
      await gc.reconcile("replicasets|default/web");
      f.client.actions.length = 0;

      // The pod's deletion is seen by the pods informer.
      f.informers.for<Pod>("pods").delete(pod("web-1", [ref("ReplicaSet", "web")]));
      await gc.reconcile("replicasets|default/web");

      expect(f.client.writes().map((a) => [a.verb, a.resource, a.name, a.patch])).toEqual([
        ["patch", "replicasets", "web", { metadata: { finalizers: [], resourceVersion: expect.any(String) } }],
      ]);
      expect(f.client.object("replicasets", "default", "web")).toBeUndefined();
    });
  });

  describe("informer handlers", () => {
    it("queue what was cached when the collector started: dependents with owners, owners being deleted", async () => {
      const keys = await start(rs("web"), rs("old", { deleting: ["orphan"] }), pod("web-1", [ref("ReplicaSet", "web")]), pod("lone", []));

      expect(keys.sort()).toEqual(["pods|default/web-1", "replicasets|default/old"]);
    });

    it("an owner's deletion queues its dependents", async () => {
      const owner = rs("web");
      await start(owner, pod("web-1", [ref("ReplicaSet", "web")]), pod("lone", []));

      f.informers.for<ReplicaSet>("replicasets").delete(owner);

      expect(await drain()).toEqual(["pods|default/web-1"]);
    });

    it("an owner's update with a deletionTimestamp queues the owner", async () => {
      await start(rs("web"));

      f.informers.for<ReplicaSet>("replicasets").update(rs("web", { deleting: ["orphan"] }));

      expect(await drain()).toEqual(["replicasets|default/web"]);
    });
  });
});
