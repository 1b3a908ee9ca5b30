import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PersistentVolume, PersistentVolumeClaim, Pod } from "@kubelab/api";
import { ApiClient, isNotFound } from "@kubelab/client";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// Storage on the composed lab, as far as the control plane goes: the default class the
// leader-elected controller manager creates, a claim provisioned on the node the scheduler chose
// for its pod, and the volume's removal by a helper pod on that node once the claim is deleted.
// Whether the pod's container gets the directory mounted (data kept across pods) is the
// kubelet's part, tested with it.
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
    command: [sh, -c, 'date >> /data/log; sleep 3600']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
`;

describe("storage on the composed lab", () => {
  const lab = new TestLab();
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

    await lab.kubelab(["delete", "-n", NS, "pod", "writer", "--grace-period=0"]);
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
  });
});
