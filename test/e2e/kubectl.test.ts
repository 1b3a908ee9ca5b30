import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { kubectlPath, kubectlWith, noteMissingKubectl } from "../support/kubectl.js";
import { TestLab } from "../support/lab.js";

// Real kubectl against the composed lab's HTTP API, through the kubeconfig a lab writes: reading
// the cluster, applying and re-applying (a strategic merge patch), rollouts, logs, exec with and
// without a terminal, events and deletion. Without kubectl on the machine, the tests are skipped.
noteMissingKubectl("kubectl.test.ts");
const NS = "kubectl-e2e";

const deployment = (image: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: ${image}
        env: [{name: GREETING, value: hello}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
`;

describe.skipIf(!kubectlPath)("kubectl on the composed lab", () => {
  const lab = TestLab.shared();
  let kubeconfig = "";

  const kubectl = kubectlWith(() => kubeconfig, 60_000);

  beforeAll(async () => {
    await lab.start();
    kubeconfig = lab.writeKubeconfig(mkdtempSync(path.join(os.tmpdir(), "kubelab-kubectl-e2e-")));
    // kubectl create sends Kubernetes' protobuf encoding (client-go's typed clients).
    expect((await kubectl(["create", "namespace", NS])).stdout).toBe(`namespace/${NS} created\n`);
  });
  afterAll(() => lab.stop());

  it("gets nodes, as tables and as JSON", async () => {
    const wide = await kubectl(["get", "nodes", "-o", "wide"]);
    expect(wide.stderr).toBe("");
    expect(wide.stdout.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP/);
    expect(wide.stdout).toMatch(/\nnode-1\s+Ready\s/);
    const json = JSON.parse((await kubectl(["get", "nodes", "-o", "json"])).stdout) as { kind: string; items: unknown[] };
    expect(json.kind).toBe("List");
    expect(json.items).toHaveLength(3);
  });

  it("kubectl top reads metrics.k8s.io through the API server", async () => {
    await eventually(
      "kubectl top nodes",
      async () => {
        const top = await kubectl(["top", "nodes"]);
        expect(top.stderr).toBe("");
        // kubectl pads every cell, the last one too.
        expect(top.stdout).toMatch(
          /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*\nnode-1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*\n/,
        );
      },
      60_000,
      2000,
    );
  });

  it("applies a Deployment, waits for its rollout, and applies a change as a strategic merge patch", async () => {
    expect((await kubectl(["apply", "-f", "-"], deployment("kubelab/echo:dev"))).stdout).toBe("deployment.apps/web created\n");
    const status = await kubectl(["rollout", "status", "deployment/web", "-n", NS, "--timeout=120s"], undefined, 130_000);
    expect(status.stdout).toContain('deployment "web" successfully rolled out');
    expect((await kubectl(["apply", "-f", "-"], deployment("kubelab/burner:dev"))).stdout).toBe("deployment.apps/web configured\n");
    const d = JSON.parse((await kubectl(["get", "deploy", "web", "-n", NS, "-o", "json"])).stdout) as {
      spec: { template: { spec: { containers: Array<{ image: string; env: Array<{ name: string }> }> } } };
    };
    expect(d.spec.template.spec.containers[0]).toMatchObject({ image: "kubelab/burner:dev", env: [{ name: "GREETING" }] });
    expect((await kubectl(["apply", "-f", "-"], deployment("kubelab/echo:dev"))).stdout).toBe("deployment.apps/web configured\n");
    expect((await kubectl(["rollout", "status", "deployment/web", "-n", NS, "--timeout=120s"], undefined, 130_000)).code).toBe(0);
    const pods = await kubectl(["get", "pods", "-n", NS, "-l", "app=web", "-o", "wide"]);
    expect(pods.stdout.split("\n")[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(pods.stdout.match(/\s1\/1\s+Running\s/g)?.length).toBe(2);
  });

  it("execs a command, passing its output and exit code through, with and without a terminal", async () => {
    const r = await kubectl(["exec", "-n", NS, "deploy/web", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toContain("err\n");
    expect(r.code).toBe(3);
    const stdin = await kubectl(["exec", "-i", "-n", NS, "deploy/web", "--", "cat"], "from stdin\n");
    expect(stdin.stdout).toBe("from stdin\n");
    // The same through the gRPC API, with kubelab's own exec.
    const pod = (await kubectl(["get", "pods", "-n", NS, "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"])).stdout;
    const own = await lab.kubelab(["exec", "-n", NS, pod, "--", "sh", "-c", "echo via grpc; exit 4"]);
    expect([own.stdout, own.stderr, own.code]).toEqual(["via grpc\n", "command terminated with exit code 4\n", 4]);
    const ownStdin = await lab.kubelab(["exec", "-i", "-n", NS, pod, "--", "cat"], "piped\n");
    expect(ownStdin.stdout).toBe("piped\n");
    // A terminal, from a pseudo-terminal of `script`: the command sees a TTY.
    const script = spawnSync("sh", ["-c", "command -v script"], { encoding: "utf8" }).stdout.trim();
    if (script) {
      const tty = spawnSync(
        script,
        ["-qec", `${kubectlPath} --kubeconfig ${kubeconfig} exec -it -n ${NS} deploy/web -- sh -c 'test -t 0 && echo tty'`, "/dev/null"],
        {
          encoding: "utf8",
          timeout: 30_000,
          input: "",
        },
      );
      expect(tty.stdout).toContain("tty");
    }
  });

  it("forwards a local port to a pod with kubelab port-forward", async () => {
    const cli = path.resolve("cli/bin/kubelab.js");
    const pf = spawn(process.execPath, [cli, "--server", lab.server, "-n", NS, "port-forward", "deploy/web", ":8080"]);
    let out = "";
    pf.stdout.on("data", (b: Buffer) => (out += b.toString()));
    try {
      const port = await eventually(
        "Forwarding from",
        async () => {
          const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> 8080\n/.exec(out);
          expect(m).not.toBeNull();
          return Number(m![1]);
        },
        20_000,
        200,
      );
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/web-/);
      expect(out).toContain(`Handling connection for ${port}`);
    } finally {
      pf.kill("SIGINT");
    }
  });

  it("forwards local ports to a pod with kubectl port-forward, over its WebSocket tunnel and over SPDY", async () => {
    const children: ChildProcess[] = [];
    try {
      // kubectl's default (SPDY tunneled through a WebSocket), then its fallback (a plain SPDY upgrade).
      for (const env of [{}, { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }]) {
        const args = ["--kubeconfig", kubeconfig, "-v=4", "-n", NS, "port-forward", "deploy/web", ":8080", ":9999"];
        const pf = spawn(kubectlPath, args, { env: { ...process.env, ...env } });
        children.push(pf);
        let out = "";
        let err = "";
        pf.stdout.on("data", (b: Buffer) => (out += b.toString()));
        pf.stderr.on("data", (b: Buffer) => (err += b.toString()));
        const exited = new Promise<void>((resolve) => pf.once("exit", () => resolve()));
        const [web, nothing] = await eventually(
          "Forwarding from",
          async () => {
            const m = [8080, 9999].map((p) => new RegExp(`^Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${p}$`, "m").exec(out));
            expect(m).not.toContain(null);
            return m.map((x) => Number(x![1]));
          },
          20_000,
          200,
        );
        // Two connections at once: two pairs of streams on kubectl's one connection.
        const answers = await Promise.all(
          [1, 2].map(() => fetch(`http://127.0.0.1:${web}/`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text())),
        );
        for (const a of answers) expect(a).toMatch(/web-/);
        expect(err).not.toContain("fallback to secondary dialer");
        // Nothing listens on 9999: kubectl prints what the kubelet wrote on the error stream and,
        // as against Kubernetes, gives up on the connection to the pod.
        await fetch(`http://127.0.0.1:${nothing}/`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        await eventually(
          "the forwarding error",
          async () => expect(err).toMatch(/an error occurred forwarding \d+ -> 9999: error forwarding port 9999 to pod kubectl-e2e\/web-/),
          20_000,
          200,
        );
        await exited;
        expect(err).toContain("lost connection to pod");
      }
    } finally {
      for (const pf of children) pf.kill("SIGINT");
    }
  });

  it("follows a pod's log, and shows its events in describe", async () => {
    const pod = (await kubectl(["get", "pods", "-n", NS, "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"])).stdout;
    const follower = spawn(kubectlPath, ["--kubeconfig", kubeconfig, "logs", "-f", "-n", NS, pod]);
    let out = "";
    follower.stdout.on("data", (b: Buffer) => (out += b.toString()));
    try {
      await eventually("the log", async () => expect(out.length).toBeGreaterThan(0), 30_000);
    } finally {
      follower.kill();
    }
    const described = await kubectl(["describe", "pod", "-n", NS, pod]);
    expect(described.stdout).toMatch(/Events:[\s\S]*Scheduled/);
  });

  it("watches, patches each way, labels, reads rollout history and undoes, explains, and filters events", async () => {
    const watcher = spawn(kubectlPath, ["--kubeconfig", kubeconfig, "get", "deploy", "web", "-n", NS, "-w", "--no-headers"]);
    let watched = "";
    watcher.stdout.on("data", (b: Buffer) => (watched += b.toString()));
    try {
      await eventually("the watch's first line", async () => expect(watched).toMatch(/^web\s/), 20_000);
      expect((await kubectl(["scale", "deploy/web", "-n", NS, "--replicas=3"])).stdout).toBe("deployment.apps/web scaled\n");
      await eventually("the scale in the watch", async () => expect(watched).toMatch(/\nweb\s+\d\/3\s/), 20_000);
    } finally {
      watcher.kill();
    }
    const patch = (type: string, p: string) => kubectl(["patch", "deploy", "web", "-n", NS, `--type=${type}`, "-p", p]);
    expect(
      (await patch("strategic", '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"EXTRA","value":"1"}]}]}}}}'))
        .stdout,
    ).toBe("deployment.apps/web patched\n");
    expect((await patch("merge", '{"metadata":{"annotations":{"note":"merged"}}}')).stdout).toBe("deployment.apps/web patched\n");
    expect((await patch("json", '[{"op":"replace","path":"/spec/replicas","value":2}]')).stdout).toBe("deployment.apps/web patched\n");
    const env = (await kubectl(["get", "deploy", "web", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].env[*].name}"]))
      .stdout;
    expect(env.split(" ").sort()).toEqual(["EXTRA", "GREETING"]);
    expect((await kubectl(["label", "deploy", "web", "-n", NS, "tier=front"])).stdout).toBe("deployment.apps/web labeled\n");
    expect((await kubectl(["annotate", "deploy", "web", "-n", NS, "owner=lab"])).stdout).toBe("deployment.apps/web annotated\n");
    expect((await kubectl(["rollout", "history", "deploy/web", "-n", NS])).stdout).toMatch(
      /^deployment\.apps\/web \nREVISION\s+CHANGE-CAUSE\n/,
    );
    expect((await kubectl(["rollout", "undo", "deploy/web", "-n", NS])).stdout).toBe("deployment.apps/web rolled back\n");
    expect((await kubectl(["rollout", "status", "deployment/web", "-n", NS, "--timeout=120s"], undefined, 130_000)).code).toBe(0);
    expect((await kubectl(["explain", "pod.spec.containers.ports"])).stdout).toMatch(
      /FIELD: ports <\[\]ContainerPort>[\s\S]*containerPort\s+<integer>/,
    );
    const events = await kubectl(["get", "events", "-n", NS, "--field-selector", "involvedObject.kind=Deployment"]);
    expect(events.stdout).toMatch(/ScalingReplicaSet/);
  });

  it("creates a Deployment and a ConfigMap with kubectl create (protobuf bodies), rolls it out and deletes it", async () => {
    const created = await kubectl(["create", "deployment", "made", "-n", NS, "--image=kubelab/echo:dev", "--replicas=2", "--port=8080"]);
    expect(created.stdout, created.stderr).toBe("deployment.apps/made created\n");
    expect((await kubectl(["create", "configmap", "made", "-n", NS, "--from-literal=greeting=hi"])).stdout).toBe(
      "configmap/made created\n",
    );
    const status = await kubectl(["rollout", "status", "deployment/made", "-n", NS, "--timeout=120s"], undefined, 130_000);
    expect(status.stdout).toContain('deployment "made" successfully rolled out');
    const d = JSON.parse((await kubectl(["get", "deploy", "made", "-n", NS, "-o", "json"])).stdout) as {
      spec: { replicas: number; template: { spec: { containers: Array<{ image: string; ports: Array<{ containerPort: number }> }> } } };
    };
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0]).toMatchObject({ image: "kubelab/echo:dev", ports: [{ containerPort: 8080 }] });
    const cm = await kubectl(["get", "configmap", "made", "-n", NS, "-o", "jsonpath={.data.greeting}"]);
    expect(cm.stdout).toBe("hi");
    expect((await kubectl(["delete", "deployment,configmap", "made", "-n", NS])).code).toBe(0);
  });

  it("deletes in the foreground: the Deployment goes after its ReplicaSets and pods", async () => {
    const r = await kubectl(["delete", "deployment", "web", "-n", NS, "--cascade=foreground", "--timeout=60s"], undefined, 70_000);
    expect(r.stdout).toBe('deployment.apps "web" deleted\n');
    expect((await kubectl(["get", "rs,pods", "-n", NS, "-l", "app=web"])).stderr).toBe(`No resources found in ${NS} namespace.\n`);
  });
});
