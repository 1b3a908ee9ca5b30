import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ConfigMapSchema, PodSchema, NamespaceSchema, decodeObject, type Pod, type ConfigMap } from "@kubelab/api";
import type { ApiError, ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { apiError } from "../support/apiError.js";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

const pod = (name: string, extra: Record<string, unknown> = {}) =>
  decodeObject({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "web" }, ...extra },
    spec: { containers: [{ name: "app", image: "busybox:1.36", resources: { limits: { cpu: 1, memory: "64Mi" } } }] },
  }).obj as Pod;

describe("API server CRUD on a 3-member etcd cluster", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("creates with server-set fields and Kubernetes defaults", async () => {
    const created = await client.create(pod("web-1"));
    const m = created.metadata!;
    expect(m.namespace).toBe("default");
    expect(m.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number(m.resourceVersion)).toBeGreaterThan(0);
    expect(m.generation).toBe(1);
    expect(created.spec!.restartPolicy).toBe("Always");
    expect(created.spec!.terminationGracePeriodSeconds).toBe(30);
    expect(created.spec!.containers[0].imagePullPolicy).toBe("IfNotPresent");
    expect(created.spec!.containers[0].resources!.requests).toEqual({ cpu: "1", memory: "64Mi" });
    expect(created.status!.phase).toBe("Pending");
    expect(created.status!.qosClass).toBe("Guaranteed");
    const got = await client.get(PodSchema, "default", "web-1");
    expect(got.metadata!.uid).toBe(m.uid);
    expect(got.metadata!.resourceVersion).toBe(m.resourceVersion);
  });

  it("answers ALREADY_EXISTS and NOT_FOUND in Kubernetes' words", async () => {
    const dup = await apiError(client.create(pod("web-1")));
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(dup.message).toBe('pods "web-1" already exists');
    const missing = await apiError(client.get(PodSchema, "default", "nope"));
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
    expect(missing.message).toBe('pods "nope" not found');
    const noNs = await apiError(client.create(pod("x", { namespace: "no-such-ns" })));
    expect(noNs.code).toBe(grpc.status.NOT_FOUND);
    expect(noNs.message).toBe('namespaces "no-such-ns" not found');
  });

  it("rejects invalid objects with every violation at once and writes nothing", async () => {
    // Built as a message, as a gRPC client sends it: decoding JSON would refuse the bad quantity first.
    const bad = create(PodSchema, {
      metadata: { name: "Bad_Name" },
      spec: { restartPolicy: "Sometimes", containers: [{ name: "app", resources: { limits: { memory: "1.5Gx" } } }] },
    });
    const err = await apiError(client.create(bad));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.reason).toBe("Invalid");
    expect(err.message).toContain('Pod "Bad_Name" is invalid: [');
    expect(err.message).toContain('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain');
    expect(err.message).toContain("spec.containers[0].image: Required value");
    expect(err.message).toContain('spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
    expect(err.message).toContain('spec.containers[0].resources.limits[memory]: Invalid value: "1.5Gx": quantities must match');
    expect(err.causes.map((c) => c.field)).toContain("spec.containers[0].image");
    const list = await client.list(PodSchema, { namespace: "default", fieldSelector: "metadata.name=Bad_Name" });
    expect(list.items).toHaveLength(0);
  });

  it("rejects an object over 1.5 MiB with RESOURCE_EXHAUSTED", async () => {
    // A pod: ConfigMaps and Secrets stop at 1 MiB of data before this limit.
    const pod = create(PodSchema, {
      metadata: { name: "big" },
      spec: { containers: [{ name: "c", image: "x", args: ["x".repeat(1.6 * 1024 * 1024)] }] },
    });
    const err = await apiError(client.create(pod));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.reason).toBe("RequestEntityTooLarge");
    expect(await apiError(client.get(PodSchema, "default", "big"))).toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("updates with optimistic concurrency: a stale resourceVersion is ABORTED", async () => {
    const cm = await client.create(create(ConfigMapSchema, { metadata: { name: "cfg" }, data: { a: "1" } }));
    const first = await client.update({ ...cm, data: { a: "2" } } as ConfigMap);
    expect(Number(first.metadata!.resourceVersion)).toBeGreaterThan(Number(cm.metadata!.resourceVersion));
    const err = await apiError(client.update({ ...cm, data: { a: "3" } } as ConfigMap));
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.message).toBe(
      'Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again',
    );
    expect((await client.get(ConfigMapSchema, "default", "cfg")).data).toEqual({ a: "2" });
  });

  it("loses no update when many writers race on one object (read-modify-write with conflicts)", async () => {
    await client.create(create(ConfigMapSchema, { metadata: { name: "counter" }, data: { n: "0" } }));
    let conflicts = 0;
    const increment = async () => {
      for (;;) {
        const cur = await client.get(ConfigMapSchema, "default", "counter");
        try {
          await client.update({ ...cur, data: { n: String(Number(cur.data.n) + 1) } } as ConfigMap);
          return;
        } catch (e) {
          if ((e as ApiError).code !== grpc.status.ABORTED) throw e;
          conflicts++;
        }
      }
    };
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 10; i++) await increment();
      }),
    );
    expect((await client.get(ConfigMapSchema, "default", "counter")).data.n).toBe("80");
    expect(conflicts).toBeGreaterThan(0);
  });

  it("keeps spec and status apart: Update ignores status, UpdateStatus ignores spec; generation follows spec", async () => {
    const p = await client.get(PodSchema, "default", "web-1");
    const withStatus = structuredClone(p);
    const s1 = await client.updateStatus({
      ...p,
      status: { ...p.status!, phase: "Running", podIp: "10.0.0.5" },
      spec: { ...p.spec!, activeDeadlineSeconds: 99 },
    } as Pod);
    expect(s1.status!.phase).toBe("Running");
    expect(s1.spec!.activeDeadlineSeconds).toBeUndefined();
    expect(s1.metadata!.generation).toBe(1);
    const u1 = await client.update({
      ...s1,
      status: { ...s1.status!, phase: "Failed" },
      spec: { ...s1.spec!, activeDeadlineSeconds: 99 },
    } as Pod);
    expect(u1.status!.phase).toBe("Running");
    expect(u1.spec!.activeDeadlineSeconds).toBe(99);
    expect(u1.metadata!.generation).toBe(2);
    const labelsOnly = await client.update({ ...u1, metadata: { ...u1.metadata!, labels: { app: "web", tier: "x" } } } as Pod);
    expect(labelsOnly.metadata!.generation).toBe(2);
    expect(withStatus.metadata!.name).toBe("web-1");
  });

  it("forbids changing an immutable pod spec field and metadata.name", async () => {
    const p = await client.get(PodSchema, "default", "web-1");
    const changed = structuredClone(p);
    changed.spec!.restartPolicy = "Never";
    const err = await apiError(client.update(changed));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.message).toContain("spec: Forbidden: pod updates may not change fields other than");
    const image = structuredClone(p);
    image.spec!.containers[0].image = "busybox:1.37";
    expect((await client.update(image)).spec!.containers[0].image).toBe("busybox:1.37");
  });

  it("applies JSON merge patches, rejecting unknown fields by name", async () => {
    const patched = await client.patch(ConfigMapSchema, "default", "cfg", {
      data: { b: "x", a: null },
      metadata: { labels: { env: "lab" } },
    });
    expect(patched.data).toEqual({ b: "x" });
    expect(patched.metadata!.labels).toEqual({ env: "lab" });
    const err = await apiError(client.patch(ConfigMapSchema, "default", "cfg", { dta: { c: "1" } }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.message).toContain('unknown field "dta"');
    const status = await client.patch(PodSchema, "default", "web-1", { status: { phase: "Succeeded" } }, "status");
    expect(status.status!.phase).toBe("Succeeded");
  });

  it("lists with label and field selectors and pages with limit/continue", async () => {
    for (let i = 0; i < 7; i++) await client.create(pod(`page-${i}`, { labels: { app: i % 2 ? "odd" : "even", idx: String(i) } }));
    const even = await client.list(PodSchema, { namespace: "default", labelSelector: "app in (even),idx!=4" });
    expect(even.items.map((p) => p.metadata!.name).sort()).toEqual(["page-0", "page-2", "page-6"]);
    const notin = await client.list(PodSchema, { labelSelector: "app notin (even,odd,web),idx" });
    expect(notin.items).toHaveLength(0);
    const exists = await client.list(PodSchema, { labelSelector: "!idx" });
    expect(exists.items.map((p) => p.metadata!.name)).toEqual(["web-1"]);
    const byField = await client.list(PodSchema, { fieldSelector: "status.phase=Pending,metadata.name!=page-1", labelSelector: "idx" });
    expect(byField.items).toHaveLength(6);
    const names: string[] = [];
    let cont = "";
    let pages = 0;
    do {
      const page = await client.list(PodSchema, { namespace: "default", limit: 3, continue: cont });
      expect(page.items.length).toBeLessThanOrEqual(3);
      names.push(...page.items.map((p) => p.metadata!.name));
      cont = page.continue;
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(8);
    const badField = await apiError(client.list(PodSchema, { fieldSelector: "spec.image=x" }));
    expect(badField.message).toBe("field label not supported: spec.image");
  });

  it("deletes gracefully: finalizers hold the object until they are removed", async () => {
    await client.create(create(ConfigMapSchema, { metadata: { name: "fin", finalizers: ["example.com/hold"] } }));
    const del = await client.delete(ConfigMapSchema, "default", "fin");
    expect(del.removed).toBe(false);
    expect(del.object.metadata!.deletionTimestamp).not.toBe("");
    const held = await client.get(ConfigMapSchema, "default", "fin");
    expect(held.metadata!.deletionTimestamp).not.toBe("");
    await client.update({ ...held, metadata: { ...held.metadata!, finalizers: [] } } as ConfigMap);
    expect((await apiError(client.get(ConfigMapSchema, "default", "fin"))).code).toBe(grpc.status.NOT_FOUND);
    const gone = await client.delete(PodSchema, "default", "page-0");
    expect(gone.removed).toBe(true);
  });

  it("keeps a scheduled pod Terminating for its grace period until deleted with grace 0", async () => {
    const p = pod("bound");
    p.spec!.nodeName = "node-1";
    await client.create(p);
    const first = await client.delete(PodSchema, "default", "bound");
    expect(first.removed).toBe(false);
    expect(first.object.metadata!.deletionGracePeriodSeconds).toBe(30);
    const final = await client.delete(PodSchema, "default", "bound", { gracePeriodSeconds: 0 });
    expect(final.removed).toBe(true);
  });

  it("binds a pod to a node once (pods/binding): a second bind is ABORTED", async () => {
    const p = await client.create(pod("to-bind"));
    const bound = await client.bind("default", "to-bind", "node-2", p.metadata!.uid);
    expect(bound.spec!.nodeName).toBe("node-2");
    expect(bound.status!.conditions.find((c) => c.type === "PodScheduled")?.status).toBe("True");
    const again = await apiError(client.bind("default", "to-bind", "node-3"));
    expect(again.code).toBe(grpc.status.ABORTED);
    expect(again.message).toBe('Operation cannot be fulfilled on pods/binding "to-bind": pod to-bind is already assigned to node "node-2"');
    expect((await client.get(PodSchema, "default", "to-bind")).spec!.nodeName).toBe("node-2");
  });

  it("creates namespaces and rejects cluster-scoped objects with a namespace", async () => {
    await client.create(create(NamespaceSchema, { metadata: { name: "team-a" } }));
    await client.create(pod("in-a", { namespace: "team-a" }));
    const all = await client.list(PodSchema, {});
    expect(all.items.some((p) => p.metadata!.namespace === "team-a")).toBe(true);
    const err = await apiError(client.create(create(NamespaceSchema, { metadata: { name: "x", namespace: "default" } })));
    expect(err.message).toContain("metadata.namespace: Forbidden: not allowed on this type");
  });
});
