import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { eventually } from "../support/eventually.js";
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

const web = `
apiVersion: v1
kind: Namespace
metadata: {name: e2e}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: life, namespace: e2e}
data: {kept: "yes"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: e2e}
spec:
  replicas: 3
  selector: {matchLabels: {app: life}}
  template:
    metadata: {labels: {app: life}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: echo
        image: kubelab/echo:dev
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: e2e}
spec:
  selector: {app: life}
  ports: [{name: http, port: 80, targetPort: http}]
`;

interface PodView {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}
const ready = (p: PodView) => p.status.phase === "Running" && p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");

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
        const created = await lab.kubelab(
          ["apply", "-f", "-"],
          `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: degraded-${i}, namespace: e2e}\ndata: {k: v${i}}\n`,
        );
        expect(created.stderr).toBe("");
        expect(created.stdout.trim()).toBe(`configmap/degraded-${i} created`);
        const read = await lab.kubelab(["get", "cm", `degraded-${i}`, "-n", "e2e", "-o", "json"]);
        expect(JSON.parse(read.stdout).data).toEqual({ k: `v${i}` });
      }
    } finally {
      await lab.docker("start", member);
    }
  });

  it("keeps serving with one API server stopped: the CLI on its default addresses, writes, and the nodes", async () => {
    const stopped = lab.container("apiserver-1");
    await lab.docker("stop", "-t", "1", stopped);
    try {
      for (let i = 0; i < 5; i++) {
        const created = await lab.kubelab(
          ["apply", "-f", "-"],
          `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one-down-${i}, namespace: default}\ndata: {k: v${i}}\n`,
        );
        expect(created.stderr).toBe("");
        expect(created.stdout.trim()).toBe(`configmap/one-down-${i} created`);
      }
      // The kubelets renew their leases through the other two: no node goes NotReady.
      await new Promise((r) => setTimeout(r, 12_000));
      const nodes = await lab.kubelab(["get", "nodes", "--no-headers"]);
      expect(nodes.stdout.match(/ Ready /g)?.length).toBe(3);
    } finally {
      await lab.docker("start", stopped);
    }
  });

  it("runs one acting scheduler and controller-manager of two each, and the standby takes over a stopped leader", async () => {
    const schedulers = [lab.container("scheduler-1"), lab.container("scheduler-2")];
    const leader = await lab.leaderContainer("kube-scheduler");
    expect(schedulers).toContain(leader);
    expect([lab.container("controller-manager-1"), lab.container("controller-manager-2")]).toContain(
      await lab.leaderContainer("kube-controller-manager"),
    );
    await lab.docker("stop", "-t", "5", leader);
    try {
      await eventually(
        "the standby holds the lease",
        async () => expect(await lab.leaderContainer("kube-scheduler")).toBe(schedulers.find((s) => s !== leader)),
        30_000,
      );
      const applied = await lab.kubelab(
        ["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: after-failover, namespace: default}\nspec:\n  containers: [{name: app, image: kubelab/echo:dev}]\n",
      );
      expect(applied.stderr).toBe("");
      await eventually("scheduled by the new leader", async () => {
        const pod = JSON.parse((await lab.kubelab(["get", "pod", "after-failover", "-n", "default", "-o", "json"])).stdout) as {
          spec: { nodeName?: string };
        };
        expect(pod.spec.nodeName).toMatch(/^node-/);
      });
    } finally {
      await lab.docker("start", leader);
    }
  });

  it("adds a node while the lab runs, which registers, becomes Ready and takes pods, and removes it with everything it ran", async () => {
    const added = await lab.kubelab(["node", "add", "--project", lab.project]);
    expect(added.stderr).toBe("");
    expect(added.stdout).toContain("node/node-4 added");
    await eventually(
      "node-4 Ready",
      async () => expect((await lab.kubelab(["get", "nodes", "--no-headers"])).stdout).toMatch(/^node-4\s+Ready\s/m),
      90_000,
    );
    // A pod pinned to the new node, and a Deployment's pod that prefers it (weight 100).
    const applied = await lab.kubelab(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata: {name: on-node-4, namespace: default}
spec:
  nodeSelector: {kubernetes.io/hostname: node-4}
  containers: [{name: app, image: kubelab/echo:dev}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: prefers-node-4, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: prefers-node-4}}
  template:
    metadata: {labels: {app: prefers-node-4}}
    spec:
      terminationGracePeriodSeconds: 1
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            preference: {matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-4]}]}
      containers: [{name: app, image: kubelab/echo:dev}]
`,
    );
    expect(applied.stderr).toBe("");
    const podsOf = async (selector: string) =>
      (JSON.parse((await lab.kubelab(["get", "pods", "-l", selector, "-o", "json"])).stdout) as { items: PodView[] }).items;
    await eventually("both pods Running on node-4", async () => {
      const pod = JSON.parse((await lab.kubelab(["get", "pod", "on-node-4", "-o", "json"])).stdout) as PodView;
      expect(pod.spec.nodeName).toBe("node-4");
      expect(pod.status.phase).toBe("Running");
      const [preferring] = await podsOf("app=prefers-node-4");
      expect(preferring?.spec.nodeName).toBe("node-4");
      expect(preferring?.status.phase).toBe("Running");
    });
    const node4 = JSON.parse((await lab.kubelab(["get", "node", "node-4", "-o", "json"])).stdout) as { spec: { providerID?: string } };
    expect(node4.spec.providerID).toMatch(/^kubelab:\/\/[0-9a-f]{64}$/);
    const ofNode4 = async () =>
      (
        await lab.docker("ps", "-aq", "--filter", `label=io.kubelab.project=${lab.project}`, "--filter", "label=io.kubelab.node=node-4")
      ).trim();
    expect(await ofNode4()).not.toBe("");
    const removed = await lab.kubelab(["node", "remove", "node-4", "--project", lab.project]);
    expect(removed.stderr).toBe("");
    expect(removed.stdout).toContain("node/node-4 removed");
    expect(await ofNode4()).toBe("");
    const components = await lab.docker(
      "ps",
      "-a",
      "--filter",
      `label=com.docker.compose.project=${lab.project}`,
      "--format",
      "{{.Names}}",
    );
    expect(components).not.toMatch(/node-4|kube-proxy-4/);
    const again = await lab.kubelab(["node", "remove", "node-4", "--project", lab.project]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no node named "node-4"');
    // The cloud controller manager deletes the Node whose machine is gone; the pod garbage
    // collector then deletes its pods, and the Deployment's comes back on another node.
    await eventually(
      "node-4 deleted from the API",
      async () => expect((await lab.kubelab(["get", "node", "node-4"])).stderr).toContain('nodes "node-4" not found'),
      60_000,
    );
    await eventually(
      "node-4's pods gone, the Deployment's replaced on another node",
      async () => {
        expect((await lab.kubelab(["get", "pod", "on-node-4"])).stderr).toContain('pods "on-node-4" not found');
        const pods = await podsOf("app=prefers-node-4");
        expect(pods).toHaveLength(1);
        expect(pods[0]!.spec.nodeName).toMatch(/^node-[123]$/);
        expect(ready(pods[0]!)).toBe(true);
      },
      90_000,
    );
    const events = await lab.kubelab(["get", "events", "--field-selector", "involvedObject.name=node-4", "-n", "default"]);
    expect(events.stdout).toContain("Deleting node node-4 because it does not exist in the cloud provider");
    await lab.kubelab(["delete", "deployment", "prefers-node-4"]);
  });

  describe("compose run by hand in the repository's root", () => {
    it("says what to run when the images are not built yet", async () => {
      const empty = path.join(mkdtempSync(path.join(tmpdir(), "kubelab-env-")), ".env");
      writeFileSync(empty, "");
      const r = await lab.composeByHand(["--env-file", empty, "config"], { KUBELAB_IMAGE: undefined, KUBELAB_ETCD_IMAGE: undefined });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("the lab's images are not built yet: run npm run images (or npm run lab) first");
    });

    it("stops and starts the whole lab with its state: the objects, the same pods Running and Ready again, the Service answering, no container twice", async () => {
      const applied = await lab.kubelab(["apply", "-f", "-"], web);
      expect(applied.stderr).toBe("");
      const podsNow = async () =>
        (JSON.parse((await lab.kubelab(["get", "pods", "-n", "e2e", "-l", "app=life", "-o", "json"])).stdout) as { items: PodView[] })
          .items;
      const before = await eventually(
        "3 web pods Ready",
        async () => {
          const pods = await podsNow();
          expect(pods.filter(ready).length).toBe(3);
          return pods;
        },
        120_000,
      );
      const svc = JSON.parse((await lab.kubelab(["get", "svc", "web", "-n", "e2e", "-o", "json"])).stdout) as {
        spec: { clusterIP: string };
      };
      const answer = async () => {
        const body = await lab.docker(
          "exec",
          lab.container("node-1"),
          "timeout",
          "5",
          "wget",
          "-q",
          "-O-",
          `http://${svc.spec.clusterIP}/`,
        );
        expect(before.map((p) => p.metadata.name)).toContain((JSON.parse(body) as { pod: string }).pod);
      };
      await eventually("the Service answering", answer, 30_000);

      const stopped = await lab.composeByHand(["stop"]);
      expect(stopped.code, stopped.stderr).toBe(0);
      const ps = await lab.composeByHand(["ps"]);
      expect(ps.stdout).toContain("etcd-0");
      expect(ps.stdout).not.toMatch(/\bUp\b|running/);
      const running = await lab.docker("ps", "-q", "--filter", `label=io.kubelab.project=${lab.project}`);
      expect(running.trim()).toBe("");
      // Stopped for longer than the lab's node grace period (10 s): a controller-manager that starts
      // again must still give the nodes their grace period, not evict every pod at once.
      await new Promise((r) => setTimeout(r, 15_000));

      const startedAt = Date.now();
      const started = await lab.composeByHand(["start"]);
      expect(started.code, started.stderr).toBe(0);
      await lab.waitHealthy();
      const after = await eventually(
        "the same 3 pods Ready again",
        async () => {
          const pods = await podsNow();
          expect(pods.map((p) => p.metadata.uid).sort()).toEqual(before.map((p) => p.metadata.uid).sort());
          expect(pods.filter(ready).length).toBe(3);
          return pods;
        },
        120_000,
      );
      process.stderr.write(`lab stop/start: pods Ready again ${Date.now() - startedAt} ms after compose start\n`);
      expect(after.map((p) => p.spec.nodeName).sort()).toEqual(before.map((p) => p.spec.nodeName).sort());
      await eventually("the Service answering", answer, 60_000);

      const cm = parse((await lab.kubelab(["get", "cm", "life", "-n", "e2e", "-o", "yaml"])).stdout);
      expect(cm.data).toEqual({ kept: "yes" });
      expect((await lab.kubelab(["get", "deploy", "web", "-n", "e2e"])).code).toBe(0);
      const evictions = (await lab.kubelab(["get", "events", "-n", "e2e"])).stdout;
      expect(evictions).not.toContain("TaintManagerEviction");
      // Nodes that report within the grace period after the start were never lost.
      const nodeEvents = JSON.parse((await lab.kubelab(["get", "events", "-n", "default", "-o", "json"])).stdout) as {
        items: { reason: string; lastTimestamp: string }[];
      };
      expect(nodeEvents.items.filter((e) => e.reason === "NodeNotReady" && Date.parse(e.lastTimestamp) >= startedAt - 1000)).toEqual([]);
      // One running sandbox and one running app container per pod, and nothing of any other pod.
      const live = (
        await lab.docker(
          "ps",
          "--filter",
          `label=io.kubelab.project=${lab.project}`,
          "--format",
          '{{.Label "io.kubelab.pod.uid"}}/{{.Label "io.kubelab.container.name"}}',
        )
      )
        .trim()
        .split("\n")
        .filter(Boolean);
      expect(new Set(live).size).toBe(live.length);
      const uids = new Set(after.map((p) => p.metadata.uid));
      const ofWeb = live.filter((k) => uids.has(k.split("/")[0]!)).sort();
      expect(ofWeb).toEqual(after.flatMap((p) => [`${p.metadata.uid}/POD`, `${p.metadata.uid}/echo`]).sort());

      const logs = await lab.composeByHand(["logs", "--tail", "5", "apiserver-1"]);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toContain("apiserver");
      const restarted = await lab.composeByHand(["restart", "scheduler-1"]);
      expect(restarted.code, restarted.stderr).toBe(0);
      await lab.waitHealthy();
    });
  });
});
