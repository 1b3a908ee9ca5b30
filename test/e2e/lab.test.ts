import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { TestLab } from "../support/lab.js";

const manifests = `
apiVersion: v1
kind: Namespace
metadata:
  name: e2e
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: e2e
  labels: {app: web}
data:
  mode: lab
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: e2e
  labels: {app: web}
spec:
  containers:
  - name: app
    image: kubelab/echo:dev
    resources:
      limits: {cpu: 500m, memory: 64Mi}
`;

describe("the composed lab", () => {
  const lab = new TestLab();

  beforeAll(async () => {
    await lab.start();
  });
  afterAll(() => lab.stop());

  it("takes a multi-document YAML from the CLI and reads it back", async () => {
    const applied = await lab.kubelab(["apply", "-f", "-"], manifests);
    expect(applied.stderr).toBe("");
    expect(applied.stdout.trim().split("\n")).toEqual(["namespace/e2e created", "configmap/settings created", "pod/web created"]);
    const pod = parse((await lab.kubelab(["get", "pod", "web", "-n", "e2e", "-o", "yaml"])).stdout);
    expect(pod.metadata.namespace).toBe("e2e");
    expect(pod.spec.containers[0].resources.requests).toEqual({ cpu: "500m", memory: "64Mi" });
    expect(pod.spec.restartPolicy).toBe("Always");
    expect(["Pending", "Running"]).toContain(pod.status.phase);
    const table = await lab.kubelab(["get", "cm", "-n", "e2e", "-l", "app=web"]);
    expect(table.stdout).toMatch(/^NAME\s+DATA\s+AGE\nsettings\s+1\s+/);
    const again = await lab.kubelab(["apply", "-f", "-"], manifests);
    expect(again.stdout).toContain("pod/web unchanged");
    const missing = await lab.kubelab(["get", "pod", "nope", "-n", "e2e"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
  });

  it("keeps serving with one etcd member stopped", async () => {
    const member = lab.container("etcd-1");
    await lab.docker("stop", "-t", "1", member);
    try {
      // Several calls, so some land on the stopped member's connection first and must move on.
      for (let i = 0; i < 5; i++) {
        const created = await lab.kubelab(["apply", "-f", "-"], `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: degraded-${i}, namespace: e2e}\ndata: {k: v${i}}\n`);
        expect(created.stderr).toBe("");
        expect(created.stdout.trim()).toBe(`configmap/degraded-${i} created`);
        const read = await lab.kubelab(["get", "cm", `degraded-${i}`, "-n", "e2e", "-o", "json"]);
        expect(JSON.parse(read.stdout).data).toEqual({ k: `v${i}` });
      }
    } finally {
      await lab.docker("start", member);
    }
  });
});
