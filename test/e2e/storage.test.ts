import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PersistentVolume, PersistentVolumeClaim, Pod } from "@kubelab/api";
import { ApiClient, isNotFound } from "@kubelab/client";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// Storage on the composed lab: the default class the leader-elected controller manager creates, a
// claim provisioned on the node the scheduler chose for its pod, its data outliving the pod (a
// new pod on the same claim reads what the old one wrote), the volume's removal by a helper pod
// on that node once the claim is deleted, and a Retain class keeping the data after its claim.
const NS = "storage-e2e";

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 120_000) => eventuallyWithin(what, fn, timeoutMs);

const manifest = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: writer
    image: kubelab/shell:dev
    command: [sh, -c, 'echo written-by-writer >> /data/log; sleep 3600']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
`;

describe("storage on the composed lab", () => {
  const lab = TestLab.shared();
  let client: ApiClient;

  beforeAll(async () => {
    await lab.start();
    client = new ApiClient(lab.server, { timeoutMs: 20_000 });
    await lab.kubelab(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  });
  afterAll(() => {
    client?.close();
    lab.stop();
  });

  it("lists the default class the controller manager created", async () => {
    await eventually("the default class", async () => {
      const r = await lab.kubelab(["get", "sc"]);
      expect(r.stdout).toMatch(/^standard \(default\)\s+kubelab\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+/m);
    });
  });

  it("provisions a claim on its pod's node, and removes the volume with a helper pod when the claim goes", async () => {
    const applied = await lab.kubelab(["apply", "-n", NS, "-f", "-"], manifest);
    expect(applied.stderr).toBe("");
    const claim = await eventually("the claim bound", async () => {
      const c = await client.get<PersistentVolumeClaim>("persistentvolumeclaims", NS, "data");
      expect(c.status?.phase).toBe("Bound");
      return c;
    });
    // The scheduler binds the pod once its claim is bound.
    const node = await eventually("the pod scheduled", async () => {
      const p = await client.get<Pod>("pods", NS, "writer");
      expect(p.spec?.nodeName).toMatch(/^node-\d$/);
      return p.spec!.nodeName;
    });
    const pvName = `pvc-${claim.metadata!.uid}`;
    const pv = await client.get<PersistentVolume>("persistentvolumes", "", pvName);
    expect(pv.spec!.local?.path).toBe(`/var/lib/kubelab/storage/${pvName}_${NS}_data`);
    expect(pv.spec!.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions[0]?.values).toEqual([node]);
    const got = await lab.kubelab(["get", "pvc", "-n", NS, "data", "--no-headers"]);
    expect(got.stdout.split(/\s+/).slice(0, 6)).toEqual(["data", "Bound", pvName, "10Mi", "RWO", "standard"]);

    await eventually("the writer Running", async () => expect((await client.get<Pod>("pods", NS, "writer")).status?.phase).toBe("Running"));
    const dir = pv.spec!.local!.path;
    const nodeContainer = lab.container(node);
    expect(await lab.docker("exec", nodeContainer, "cat", `${dir}/log`)).toBe("written-by-writer\n");

    // The data outlives the pod: a new pod on the claim (on the same node: the volume's affinity) reads it.
    await lab.kubelab(["delete", "-n", NS, "pod", "writer", "--grace-period=0"]);
    const reader = manifest
      .split("---")[1]!
      .replace("name: writer}", "name: reader}")
      .replace("echo written-by-writer >> /data/log; sleep 3600", "cat /data/log; sleep 3600");
    expect((await lab.kubelab(["apply", "-n", NS, "-f", "-"], reader)).stderr).toBe("");
    await eventually("the reader reads what the writer wrote", async () => {
      expect((await client.get<Pod>("pods", NS, "reader")).spec?.nodeName).toBe(node);
      expect((await lab.kubelab(["logs", "-n", NS, "reader"])).stdout).toBe("written-by-writer\n");
    });
    await lab.kubelab(["delete", "-n", NS, "pod", "reader", "--grace-period=0"]);
    await lab.kubelab(["delete", "-n", NS, "pvc", "data"]);
    await eventually(
      "the volume deleted",
      async () => {
        const err = await client.get("persistentvolumes", "", pvName).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isNotFound(err)).toBe(true);
      },
      180_000,
    );
    await eventually("the helper pod removed", async () => {
      const helpers = await client.list<Pod>("pods", { namespace: "kube-system", labelSelector: `kubelab.io/local-path-volume=${pvName}` });
      expect(helpers.items).toEqual([]);
    });
    expect(await lab.docker("exec", nodeContainer, "sh", "-c", `test -e ${dir} && echo present || echo gone`)).toBe("gone\n");
  });

  it("keeps a Retain volume's data after its claim is deleted: the volume Released, its directory there", async () => {
    const retained = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: retained}
provisioner: kubelab.io/local-path
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
---
${manifest
  .replace("metadata: {name: data}", "metadata: {name: kept}")
  .replace("accessModes: [ReadWriteOnce]", "accessModes: [ReadWriteOnce]\n  storageClassName: retained")
  .replace("name: writer}", "name: keeper}")
  .replace("claimName: data", "claimName: kept")}`;
    expect((await lab.kubelab(["apply", "-n", NS, "-f", "-"], retained)).stderr).toBe("");
    const pod = await eventually("the keeper Running", async () => {
      const p = await client.get<Pod>("pods", NS, "keeper");
      expect(p.status?.phase).toBe("Running");
      return p;
    });
    const claim = await client.get<PersistentVolumeClaim>("persistentvolumeclaims", NS, "kept");
    const pv = await client.get<PersistentVolume>("persistentvolumes", "", claim.spec!.volumeName);
    expect(pv.spec!.persistentVolumeReclaimPolicy).toBe("Retain");
    const nodeContainer = lab.container(pod.spec!.nodeName);
    await lab.kubelab(["delete", "-n", NS, "pod", "keeper", "--grace-period=0"]);
    await lab.kubelab(["delete", "-n", NS, "pvc", "kept"]);
    await eventually("the volume Released", async () =>
      expect((await client.get<PersistentVolume>("persistentvolumes", "", pv.metadata!.name)).status?.phase).toBe("Released"),
    );
    expect(await lab.docker("exec", nodeContainer, "cat", `${pv.spec!.local!.path}/log`)).toBe("written-by-writer\n");
    await lab.kubelab(["delete", "pv", pv.metadata!.name]);
    await lab.kubelab(["delete", "sc", "retained"]);
  });
});
