import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeObject,
  type Event,
  type KubeObject,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type StorageClass,
} from "@kubelab/api";
import { isNotFound, type ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { defaultControllerManagerConfig, startControllerManager, type RunningControllerManager } from "@kubelab/controller-manager";
import { defaultSchedulerConfig, startScheduler, type RunningScheduler } from "@kubelab/scheduler";
import { createLogger } from "@kubelab/service-kit";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";
import { eventually as eventuallyWithin } from "../support/eventually.js";

// Storage against a real API server on a real 3-member etcd, with the controller manager (the PV
// controller, the protection controllers and the local-path provisioner) and the scheduler in
// this process. No kubelet runs: pods stay Pending once bound, and a test plays the kubelet where
// one is needed (the helper pod that removes a volume's directory succeeds when told to).

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000) => eventuallyWithin(what, fn, timeoutMs, 100);
const obj = <T extends KubeObject>(json: unknown) => decodeObject(json).obj as T;
const NS = "vol";

const claim = (name: string, spec: Record<string, unknown>) =>
  obj<PersistentVolumeClaim>({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: NS },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "500Mi" } }, ...spec },
  });

const podUsing = (name: string, claimName: string) =>
  obj<Pod>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      containers: [{ name: "c", image: "kubelab/shell:dev", volumeMounts: [{ name: "data", mountPath: "/data" }] }],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName } }],
    },
  });

const node = (name: string) =>
  obj({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
  });

describe("persistent volumes against a real API server", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let cm: RunningControllerManager;
  let scheduler: RunningScheduler;
  const getClaim = (name: string) => client.get<PersistentVolumeClaim>("persistentvolumeclaims", NS, name);
  const getVolume = (name: string) => client.get<PersistentVolume>("persistentvolumes", "", name);
  const eventsOf = async (name: string) =>
    (await client.listAll<Event>("events", { namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items.map(
      (e) => `${e.reason}: ${e.message}`,
    );

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    const address = `127.0.0.1:${server.port}`;
    await client.create(obj({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }));
    await client.create(node("n1"));
    await client.create(node("n2"));
    const quiet = createLogger("storage", () => {});
    // No kubelet posts heartbeats here: the node lifecycle controller must not find the nodes lost.
    cm = await startControllerManager(
      defaultControllerManagerConfig({ server: address, metricsPort: 0, nodeMonitorGracePeriodSeconds: 3600 }),
      quiet,
    );
    // A short volume binding timeout, for the claim nobody provisions.
    scheduler = await startScheduler(defaultSchedulerConfig({ server: address, metricsPort: 0, bindTimeoutSeconds: 2 }), quiet);
  });
  afterAll(async () => {
    await scheduler?.close();
    await cm?.close();
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("creates the default class once, gives it to claims that name none, and protects claims and volumes", async () => {
    const sc = await eventually("the default class", () => client.get<StorageClass>("storageclasses", "", "standard"));
    expect(sc.provisioner).toBe("kubelab.io/local-path");
    expect(sc.reclaimPolicy).toBe("Delete");
    expect(sc.volumeBindingMode).toBe("WaitForFirstConsumer");
    expect(sc.metadata!.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
    const c = await client.create(claim("defaulted", {}));
    expect(c.spec!.storageClassName).toBe("standard");
    expect(c.metadata!.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    expect(c.status!.phase).toBe("Pending");
    const none = await client.create(claim("classless", { storageClassName: "" }));
    expect(none.spec!.storageClassName).toBe("");
    await eventually("the claim without class waits for a volume by hand", async () =>
      expect(await eventsOf("classless")).toContain(
        "FailedBinding: no persistent volumes available for this claim and no storage class is set",
      ),
    );
    await eventually("the claim of the default class waits for its consumer", async () =>
      expect(await eventsOf("defaulted")).toContain("WaitForFirstConsumer: waiting for first consumer to be created before binding"),
    );
    await client.delete("persistentvolumeclaims", NS, "defaulted");
    await client.delete("persistentvolumeclaims", NS, "classless");
  });

  it("refuses an invalid volume with Kubernetes' field errors", async () => {
    const bad = obj<PersistentVolume>({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "bad" },
      spec: { local: { path: "/x" } },
    });
    await expect(client.create(bad)).rejects.toThrow(
      /spec.accessModes: Required value.*spec.capacity: Required value.*spec.nodeAffinity: Required value: Local volume requires node affinity/s,
    );
  });

  it("binds a claim to the smallest fitting static volume, and on the claim's deletion keeps a Retain volume Released", async () => {
    for (const [name, size] of [
      ["static-big", "5Gi"],
      ["static-fit", "1Gi"],
    ] as const) {
      const pv = await client.create(
        obj<PersistentVolume>({
          apiVersion: "v1",
          kind: "PersistentVolume",
          metadata: { name },
          spec: {
            capacity: { storage: size },
            accessModes: ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: "manual",
            hostPath: { path: `/tmp/${name}` },
          },
        }),
      );
      expect(pv.metadata!.finalizers).toEqual(["kubernetes.io/pv-protection"]);
    }
    await client.create(
      obj({
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "manual" },
        provisioner: "kubernetes.io/no-provisioner",
      }),
    );
    await client.create(claim("static", { storageClassName: "manual" }));
    const bound = await eventually("the claim bound", async () => {
      const c = await getClaim("static");
      expect(c.status?.phase).toBe("Bound");
      return c;
    });
    expect(bound.spec!.volumeName).toBe("static-fit");
    expect(bound.status!.capacity.storage).toBe("1Gi");
    expect(bound.status!.accessModes).toEqual(["ReadWriteOnce"]);
    expect(bound.metadata!.annotations["pv.kubernetes.io/bind-completed"]).toBe("yes");
    const pv = await eventually("the volume bound", async () => {
      const v = await getVolume("static-fit");
      expect(v.status?.phase).toBe("Bound");
      return v;
    });
    expect(pv.spec!.claimRef?.uid).toBe(bound.metadata!.uid);
    expect((await getVolume("static-big")).status?.phase).toBe("Available");

    await client.delete("persistentvolumeclaims", NS, "static");
    await eventually("the volume released", async () => expect((await getVolume("static-fit")).status?.phase).toBe("Released"));
    await new Promise((r) => setTimeout(r, 1000));
    const kept = await getVolume("static-fit");
    expect(kept.status?.phase).toBe("Released");
    expect(kept.spec!.claimRef?.name).toBe("static");
  });

  it("provisions a claim on the node the scheduler chose, keeps it while its pod runs, then removes its directory and volume", async () => {
    await client.create(claim("data", {}));
    await client.create(podUsing("writer", "data"));
    const pod = await eventually("the pod scheduled", async () => {
      const p = await client.get<Pod>("pods", NS, "writer");
      expect(p.spec?.nodeName).toBeTruthy();
      return p;
    });
    const node = pod.spec!.nodeName;
    const c = await getClaim("data");
    expect(c.status?.phase).toBe("Bound");
    expect(c.metadata!.annotations["volume.kubernetes.io/selected-node"]).toBe(node);
    expect(c.metadata!.annotations["volume.kubernetes.io/storage-provisioner"]).toBe("kubelab.io/local-path");
    expect(c.metadata!.annotations["volume.beta.kubernetes.io/storage-provisioner"]).toBe("kubelab.io/local-path");
    const uid = c.metadata!.uid;
    expect(c.spec!.volumeName).toBe(`pvc-${uid}`);
    const pv = await getVolume(`pvc-${uid}`);
    expect(pv.spec!.local?.path).toBe(`/var/lib/kubelab/storage/pvc-${uid}_${NS}_data`);
    expect(pv.spec!.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions[0]).toMatchObject({
      key: "kubernetes.io/hostname",
      operator: "In",
      values: [node],
    });
    expect(pv.spec!.capacity.storage).toBe("500Mi");
    expect(pv.spec!.persistentVolumeReclaimPolicy).toBe("Delete");
    expect(pv.metadata!.annotations["pv.kubernetes.io/provisioned-by"]).toBe("kubelab.io/local-path");
    const events = await eventsOf("data");
    expect(events).toContain(
      "ExternalProvisioning: Waiting for a volume to be created either by the external provisioner 'kubelab.io/local-path' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
    );
    expect(events).toContain(`Provisioning: External provisioner is provisioning volume for claim "${NS}/data"`);
    expect(events).toContain(`ProvisioningSucceeded: Successfully provisioned volume pvc-${uid}`);

    // In use: deleting the claim leaves it Terminating.
    await client.delete("persistentvolumeclaims", NS, "data");
    await new Promise((r) => setTimeout(r, 1500));
    const terminating = await getClaim("data");
    expect(terminating.metadata!.deletionTimestamp).toBeTruthy();
    expect(terminating.metadata!.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
    expect((await getVolume(`pvc-${uid}`)).status?.phase).toBe("Bound");

    await client.delete("pods", NS, "writer", { gracePeriodSeconds: 0 });
    await eventually("the claim gone", async () => {
      const err = await getClaim("data").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isNotFound(err)).toBe(true);
    });
    const helper = await eventually("the helper pod", () => client.get<Pod>("pods", "kube-system", `delete-pvc-${uid}`));
    expect((await getVolume(`pvc-${uid}`)).status?.phase).toBe("Released");
    expect(helper.spec!.nodeName).toBe(node);
    expect(helper.spec!.containers[0]!.image).toBe("kubelab/shell:dev");
    expect(helper.spec!.containers[0]!.command).toEqual(["rm", "-rf", `/var/lib/kubelab/storage/pvc-${uid}_${NS}_data`]);
    expect(helper.spec!.volumes[0]!.hostPath?.path).toBe("/var/lib/kubelab/storage");

    // The kubelet's part: the helper ran and succeeded.
    await client.updateStatus({ ...helper, status: { ...helper.status!, phase: "Succeeded" } } as Pod);
    await eventually("the volume and its helper gone", async () => {
      expect(
        isNotFound(
          await getVolume(`pvc-${uid}`).then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      ).toBe(true);
      expect(
        isNotFound(
          await client.get("pods", "kube-system", `delete-pvc-${uid}`).then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      ).toBe(true);
    });
  });

  it("binds a WaitForFirstConsumer claim to the local volume of the node its pod goes to", async () => {
    await client.create(
      obj({
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "local" },
        provisioner: "kubernetes.io/no-provisioner",
        volumeBindingMode: "WaitForFirstConsumer",
      }),
    );
    await client.create(
      obj<PersistentVolume>({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: "local-n2" },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          storageClassName: "local",
          local: { path: "/mnt/disk" },
          nodeAffinity: {
            required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["n2"] }] }] },
          },
        },
      }),
    );
    await client.create(claim("local-data", { storageClassName: "local" }));
    await new Promise((r) => setTimeout(r, 500));
    expect((await getClaim("local-data")).status?.phase).toBe("Pending");
    await client.create(podUsing("local-user", "local-data"));
    const pod = await eventually("the pod scheduled", async () => {
      const p = await client.get<Pod>("pods", NS, "local-user");
      expect(p.spec?.nodeName).toBeTruthy();
      return p;
    });
    expect(pod.spec!.nodeName).toBe("n2");
    const c = await getClaim("local-data");
    expect([c.status?.phase, c.spec?.volumeName]).toEqual(["Bound", "local-n2"]);
    expect((await getVolume("local-n2")).status?.phase).toBe("Bound");
  });

  it("sends a pod back to the queue with an event when its claim is not bound in time", async () => {
    await client.create(
      obj({
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: "nobody" },
        provisioner: "example.com/absent",
        volumeBindingMode: "WaitForFirstConsumer",
      }),
    );
    await client.create(claim("never", { storageClassName: "nobody" }));
    await client.create(podUsing("waiting", "never"));
    await eventually("a FailedScheduling event of the PreBind", async () =>
      expect(await eventsOf("waiting")).toContain(
        'FailedScheduling: running PreBind plugin "VolumeBinding": binding volumes: context deadline exceeded',
      ),
    );
    const p = await client.get<Pod>("pods", NS, "waiting");
    expect(p.spec?.nodeName).toBe("");
    expect((await getClaim("never")).metadata!.annotations["volume.kubernetes.io/selected-node"]).toMatch(/^n[12]$/);
  });

  it("keeps a pod whose claim is missing unschedulable, saying which claim", async () => {
    await client.create(podUsing("orphan", "nothing"));
    await eventually("the pod unschedulable", async () => {
      const p = await client.get<Pod>("pods", NS, "orphan");
      const cond = p.status?.conditions.find((c) => c.type === "PodScheduled");
      expect(cond?.message).toBe('0/2 nodes are available: persistentvolumeclaim "nothing" not found.');
    });
  });
});
