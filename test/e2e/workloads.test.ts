import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deployment, Job, Pod, ReplicaSet } from "@kubelab/api";
import { ApiClient, Informer } from "@kubelab/client";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// Deployments, ReplicaSets, Jobs, garbage collection and node failure on the composed lab.
const NS = "workloads-e2e";

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 90_000) => eventuallyWithin(what, fn, timeoutMs);

const isReady = (p: Pod) => !p.metadata?.deletionTimestamp && p.status?.conditions.some((c) => c.type === "Ready" && c.status === "True");

function deployment(name: string, replicas: number, extra = "", env = "1") {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  ${extra}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: kubelab/echo:dev
        env: [{name: VERSION, value: "${env}"}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
`;
}

describe("workloads on the composed lab", () => {
  const lab = TestLab.shared();
  let client: ApiClient;

  const kubelab = async (...args: string[]) => lab.kubelab(["-n", NS, ...args]);
  const apply = async (yaml: string) => {
    const r = await lab.kubelab(["apply", "-n", NS, "-f", "-"], yaml);
    expect(r.stderr).toBe("");
  };
  const podsOf = async (app: string) => (await client.list<Pod>("pods", { namespace: NS, labelSelector: `app=${app}` })).items;
  const deploymentAvailable = (name: string, replicas: number) =>
    eventually(`${name} available with ${replicas}`, async () => {
      const d = await client.get<Deployment>("deployments", NS, name);
      expect(d.status?.observedGeneration).toBe(d.metadata!.generation);
      expect(d.status?.updatedReplicas).toBe(replicas);
      expect(d.status?.availableReplicas).toBe(replicas);
      expect(d.status?.replicas).toBe(replicas);
      return d;
    });

  beforeAll(async () => {
    await lab.start();
    client = new ApiClient(lab.server, { timeoutMs: 20_000 });
    await eventually("three Ready nodes", async () =>
      expect((await lab.kubelab(["get", "nodes", "--no-headers"])).stdout.match(/ Ready /g)?.length).toBe(3),
    );
    await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  });
  afterAll(() => {
    client?.close();
    lab.stop();
  });

  it("rolls 10 replicas with maxUnavailable 0 without dropping below 10 ready, and undoes it", async () => {
    await apply(deployment("roll", 10, "strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 3}}"));
    await deploymentAvailable("roll", 10);
    const spread = new Set((await podsOf("roll")).map((p) => p.spec!.nodeName));
    expect(spread.size).toBe(3);

    const informer = new Informer<Pod>(client, "pods", { namespace: NS, labelSelector: "app=roll" });
    let minReady = Infinity;
    let sampling = false;
    const sample = () => {
      if (sampling) minReady = Math.min(minReady, informer.list().filter(isReady).length);
    };
    informer.addEventHandler({ onAdd: sample, onUpdate: sample, onDelete: sample });
    await informer.start();
    sampling = true;
    sample();
    try {
      expect(await kubelab("set", "image", "deployment/roll", "web=kubelab/burner:dev")).toMatchObject({ code: 0, stderr: "" });
      const status = await kubelab("rollout", "status", "deployment/roll");
      expect(status).toMatchObject({ code: 0, stderr: "" });
      expect(status.stdout.trim().split("\n").at(-1)).toBe('deployment "roll" successfully rolled out');
      await deploymentAvailable("roll", 10);
      expect(
        (await podsOf("roll"))
          .filter((p) => !p.metadata!.deletionTimestamp)
          .every((p) => p.spec!.containers[0]!.image === "kubelab/burner:dev"),
      ).toBe(true);

      const undo = await kubelab("rollout", "undo", "deployment/roll");
      expect(undo.stdout.trim()).toBe("deployment.apps/roll rolled back");
      expect(await kubelab("rollout", "status", "deployment/roll")).toMatchObject({ code: 0, stderr: "" });
      await deploymentAvailable("roll", 10);
    } finally {
      informer.stop();
    }
    expect(minReady).toBeGreaterThanOrEqual(10);
    const d = await client.get<Deployment>("deployments", NS, "roll");
    expect(d.spec!.template!.spec!.containers[0]!.image).toBe("kubelab/echo:dev");
    const history = await kubelab("rollout", "history", "deployment/roll");
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
  });

  it("reports ProgressDeadlineExceeded for an image that cannot be pulled, while the old pods keep serving", async () => {
    await apply(deployment("stuck", 3, "progressDeadlineSeconds: 8\n  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}"));
    await deploymentAvailable("stuck", 3);
    expect(await kubelab("set", "image", "deployment/stuck", "web=kubelab/does-not-exist:v1")).toMatchObject({ code: 0, stderr: "" });
    const status = await kubelab("rollout", "status", "deployment/stuck");
    expect(status).toMatchObject({ code: 1 });
    expect(status.stderr.trim()).toBe('error: deployment "stuck" exceeded its progress deadline');
    const d = await client.get<Deployment>("deployments", NS, "stuck");
    const progressing = d.status!.conditions.find((c) => c.type === "Progressing")!;
    expect(progressing.status).toBe("False");
    expect(progressing.reason).toBe("ProgressDeadlineExceeded");
    expect((await podsOf("stuck")).filter(isReady)).toHaveLength(3);
  });

  it("completes a Job whose pods fail twice, and fails one that always fails at its backoffLimit", async () => {
    // The attempts count in a hostPath, which is inside a node: the Job's pods all run on node-1.
    const dir = `/tmp/kubelab-e2e-job-${randomUUID()}`;
    await apply(`
apiVersion: batch/v1
kind: Job
metadata: {name: flaky}
spec:
  backoffLimit: 4
  template:
    spec:
      restartPolicy: Never
      nodeSelector: {kubernetes.io/hostname: node-1}
      volumes: [{name: state, hostPath: {path: ${dir}, type: DirectoryOrCreate}}]
      containers:
      - name: work
        image: kubelab/shell:dev
        command: [sh, -c, 'n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /state/n; [ $n -ge 3 ]']
        volumeMounts: [{name: state, mountPath: /state}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: doomed}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: work, image: kubelab/shell:dev, command: [sh, -c, "exit 1"]}]
`);
    const flaky = await eventually("flaky Complete", async () => {
      const j = await client.get<Job>("jobs", NS, "flaky");
      expect(j.status?.conditions.find((c) => c.type === "Complete")?.status).toBe("True");
      return j;
    });
    expect(flaky.status!.succeeded).toBe(1);
    expect(flaky.status!.failed).toBe(2);
    const doomed = await eventually("doomed Failed", async () => {
      const j = await client.get<Job>("jobs", NS, "doomed");
      expect(j.status?.conditions.find((c) => c.type === "Failed")?.status).toBe("True");
      return j;
    });
    expect(doomed.status!.failed).toBe(3);
    expect(doomed.status!.conditions.find((c) => c.type === "Failed")!.reason).toBe("BackoffLimitExceeded");
    const table = await kubelab("get", "jobs", "--no-headers");
    expect(table.stdout).toMatch(/^doomed\s+Failed\s+0\/1\s+/m);
    expect(table.stdout).toMatch(/^flaky\s+Complete\s+1\/1\s+/m);
  });

  it("restarts a killed container, replaces a deleted pod, and creates exactly 20 pods across a controller-manager restart", async () => {
    await apply(deployment("heal", 2));
    await deploymentAvailable("heal", 2);
    const [victim, other] = await podsOf("heal");
    const container = (
      await lab.docker(
        "ps",
        "-q",
        "--filter",
        `label=io.kubelab.pod.uid=${victim!.metadata!.uid}`,
        "--filter",
        "label=io.kubelab.container.name=web",
      )
    ).trim();
    await lab.docker("kill", container);
    await eventually("the killed container restarted", async () =>
      expect((await client.get<Pod>("pods", NS, victim!.metadata!.name)).status!.containerStatuses[0]!.restartCount).toBe(1),
    );
    await client.delete("pods", NS, other!.metadata!.name);
    await eventually("a replacement pod", async () => {
      const pods = (await podsOf("heal")).filter((p) => !p.metadata!.deletionTimestamp);
      expect(pods).toHaveLength(2);
      expect(pods.some((p) => p.metadata!.name === other!.metadata!.name)).toBe(false);
    });

    await apply(deployment("burst", 0));
    await deploymentAvailable("burst", 0);
    expect(await kubelab("scale", "deployment/burst", "--replicas=20")).toMatchObject({ code: 0, stderr: "" });
    await eventually("the scale-up under way", async () => expect((await podsOf("burst")).length).toBeGreaterThan(0), 30_000);
    // The acting copy restarts; the standby, its caches warm, takes over the scale-up.
    const leader = await lab.leaderContainer("kube-controller-manager");
    await lab.docker("restart", "-t", "1", leader);
    await deploymentAvailable("burst", 20);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await podsOf("burst")).toHaveLength(20);
    await apply(deployment("burst", 0));
  });

  it("deletes a Deployment's ReplicaSets and pods with it", async () => {
    await apply(deployment("doomed-deploy", 2));
    await deploymentAvailable("doomed-deploy", 2);
    expect((await kubelab("delete", "deployment", "doomed-deploy")).stdout.trim()).toBe('deployment.apps "doomed-deploy" deleted');
    await eventually("its ReplicaSets and pods gone", async () => {
      const sets = (await client.list<ReplicaSet>("replicasets", { namespace: NS })).items.filter((rs) =>
        rs.metadata!.name.startsWith("doomed-deploy-"),
      );
      expect(sets).toEqual([]);
      expect(await podsOf("doomed-deploy")).toEqual([]);
    });
  });

  it("brings a stopped node's pods back on the other nodes, and leaves no duplicates when it returns", async () => {
    await apply(deployment("survivor", 6));
    await deploymentAvailable("survivor", 6);
    const node = lab.container("node-2");
    const onNode2 = (await podsOf("survivor")).filter((p) => p.spec!.nodeName === "node-2");
    expect(onNode2.length).toBeGreaterThan(0);
    await lab.docker("stop", "-t", "1", node);
    await eventually("node-2 Unknown", async () =>
      expect((await lab.kubelab(["get", "node", "node-2", "--no-headers"])).stdout).toMatch(/^node-2\s+NotReady|^node-2\s+Unknown/),
    );
    await eventually(
      "6 ready pods on node-1 and node-3",
      async () => {
        const ready = (await podsOf("survivor")).filter(isReady);
        expect(ready).toHaveLength(6);
        expect(ready.every((p) => p.spec!.nodeName !== "node-2")).toBe(true);
      },
      120_000,
    );
    await deploymentAvailable("survivor", 6);
    await lab.docker("start", node);
    await eventually("node-2 Ready and its stale pods gone", async () => {
      expect((await lab.kubelab(["get", "node", "node-2", "--no-headers"])).stdout).toMatch(/^node-2\s+Ready/);
      const pods = await podsOf("survivor");
      expect(pods).toHaveLength(6);
      expect(pods.every(isReady)).toBe(true);
    });
    const running = (
      await lab.docker(
        "ps",
        "--filter",
        `label=io.kubelab.project=${lab.project}`,
        "--filter",
        "label=io.kubelab.node=node-2",
        "--format",
        '{{.Label "io.kubelab.pod.name"}}',
      )
    ).trim();
    for (const p of onNode2) expect(running).not.toContain(p.metadata!.name);
  });
});
