import { create } from "@bufbuild/protobuf";
import { ConfigMapSchema, JobSchema, NamespaceSchema, PodSchema, kindForResource, type Namespace } from "@kubelab/api";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { drainQueue, newFixture, notFoundError, timestamp, type Fixture } from "../testing/fakes.js";
import { NamespaceController } from "./namespaceController.js";

// After sample-controller's controller_test.go: the Namespace fed to the informer by hand, its
// contents in the fake client's store (the controller lists them from the API), reconcile called
// directly, the client's actions compared with the rule.

const namespace = (name: string, opts: { terminating?: boolean; finalizers?: string[] } = {}): Namespace =>
  create(NamespaceSchema, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, uid: `uid-${name}`, resourceVersion: "3", deletionTimestamp: opts.terminating ? timestamp() : "" },
    spec: { finalizers: opts.finalizers ?? ["kubernetes"] },
    status: { phase: opts.terminating ? "Terminating" : "Active" },
  });

const podIn = (ns: string, name: string, opts: { nodeName?: string; deleting?: boolean } = {}) =>
  create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${ns}-${name}`,
      deletionTimestamp: opts.deleting ? timestamp(30) : "",
      deletionGracePeriodSeconds: opts.deleting ? 30 : undefined,
    },
    spec: { nodeName: opts.nodeName ?? "", containers: [{ name: "c", image: "busybox" }] },
    status: { phase: "Running" },
  });

const configMapIn = (ns: string, name: string) =>
  create(ConfigMapSchema, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } });
const jobIn = (ns: string, name: string) => create(JobSchema, { apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: ns } });

describe("NamespaceController.reconcile", () => {
  let f: Fixture;
  let nc: NamespaceController;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-03-01T12:00:00Z"));
    f = newFixture();
  });

  afterEach(() => {
    nc?.stop();
    vi.useRealTimers();
  });

  /** Seeds the store and the caches and makes the controller; the keys its handlers queued for the caches are taken. */
  const start = async (...objs: Parameters<Fixture["seed"]>) => {
    f.seed(...objs);
    nc = new NamespaceController(f.ctx);
    await drainQueue(nc.queue);
  };

  const deletes = () =>
    f.client
      .writes()
      .filter((a) => a.verb === "delete")
      .map((a) => `${a.resource} ${a.namespace}/${a.name}`);

  it("leaves a namespace that is not terminating alone", async () => {
    await start(namespace("team"), podIn("team", "web"), configMapIn("team", "cfg"));

    await nc.reconcile("team");

    expect(f.client.actions).toEqual([]);
  });

  it('leaves a terminating namespace without the "kubernetes" finalizer alone', async () => {
    await start(namespace("team", { terminating: true, finalizers: ["example.com/other"] }), podIn("team", "web"));

    await nc.reconcile("team");

    expect(f.client.actions).toEqual([]);
  });

  it("deletes every object in a Terminating namespace (background propagation), and nothing in other namespaces", async () => {
    await start(
      namespace("team", { terminating: true }),
      namespace("other"),
      podIn("team", "web"),
      configMapIn("team", "cfg"),
      jobIn("team", "pi"),
      podIn("other", "web"),
      configMapIn("other", "cfg"),
    );

    await nc.reconcile("team");

    expect(deletes().sort()).toEqual(["configmaps team/cfg", "jobs team/pi", "pods team/web"]);
    for (const a of f.client.writes()) expect(a.deleteOptions).toEqual({ propagationPolicy: "Background" });
    // Lists are of this namespace only.
    expect(f.client.actions.filter((a) => a.verb === "list").every((a) => a.namespace === "team")).toBe(true);
    expect(f.client.objects("pods", "other")).toHaveLength(1);
  });

  it('keeps the "kubernetes" finalizer while objects remain, and looks again in a second', async () => {
    await start(namespace("team", { terminating: true }), podIn("team", "web", { nodeName: "node-1" }));

    await nc.reconcile("team");

    // The pod is bound to a node: it is deleted gracefully and is still there.
    expect(deletes()).toEqual(["pods team/web"]);
    expect(f.client.writes().some((a) => a.resource === "namespaces")).toBe(false);
    expect(f.client.object<Namespace>("namespaces", "", "team")?.spec?.finalizers).toEqual(["kubernetes"]);
    vi.advanceTimersByTime(999);
    expect(nc.queue.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(nc.queue.length).toBe(1);
  });

  it("waits for objects already being deleted without deleting them again", async () => {
    await start(namespace("team", { terminating: true }), podIn("team", "web", { nodeName: "node-1", deleting: true }));

    await nc.reconcile("team");

    expect(f.client.writes()).toEqual([]);
  });

  it('removes the "kubernetes" finalizer once nothing is left, keeping other finalizers', async () => {
    await start(namespace("team", { terminating: true, finalizers: ["kubernetes", "example.com/other"] }));

    await nc.reconcile("team");

    const writes = f.client.writes();
    expect(writes.map((a) => [a.verb, a.resource, a.name])).toEqual([["update", "namespaces", "team"]]);
    expect((writes[0]!.object as Namespace).spec?.finalizers).toEqual(["example.com/other"]);
    expect(f.client.object<Namespace>("namespaces", "", "team")?.spec?.finalizers).toEqual(["example.com/other"]);
  });

  it("empties the namespace, then lets it go once the last pod is gone", async () => {
    await start(namespace("team", { terminating: true }), podIn("team", "web", { nodeName: "node-1" }), configMapIn("team", "cfg"));

    await nc.reconcile("team");
    // The ConfigMap went at once; the pod waits for its kubelet.
    expect(f.client.objects("configmaps", "team")).toEqual([]);
    expect(f.client.objects("pods", "team")).toHaveLength(1);

    // Its kubelet stopped the pod and removed it.
    await f.client.delete("pods", "team", "web", { gracePeriodSeconds: 0 });
    f.client.actions.length = 0;
    await nc.reconcile("team");

    expect(f.client.writes().map((a) => [a.verb, a.resource, a.name])).toEqual([["update", "namespaces", "team"]]);
    // Terminating, its last finalizer gone: the namespace is removed.
    expect(f.client.object("namespaces", "", "team")).toBeUndefined();
  });

  it("an object deleted meanwhile (NotFound) is no error", async () => {
    await start(namespace("team", { terminating: true }), configMapIn("team", "cfg"));
    f.client.prependReactor("delete", "configmaps", (a) => notFoundError(kindForResource("configmaps")!, a.name));

    await expect(nc.reconcile("team")).resolves.toBeUndefined();
    // Counted as remaining until a list no longer shows it.
    expect(f.client.writes().map((a) => a.verb)).toEqual(["delete"]);
  });

  it("queues a namespace when the informer sees it", async () => {
    await start();

    f.informers.for<Namespace>("namespaces").add(namespace("team", { terminating: true }));

    expect(nc.queue.length).toBe(1);
    expect(await nc.queue.get()).toBe("team");
  });
});
