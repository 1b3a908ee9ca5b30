import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event, Node, Pod, Service } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { parseIPv4, parseIPv4Cidr } from "@kubelab/service-kit";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// Real containers on the composed lab's three nodes. Back-offs start at 2 s instead of 10 s so
// crash loops and image pull failures show their second round quickly.
const NS = "pods-e2e";

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000) => eventuallyWithin(what, fn, timeoutMs);

describe("pods on the composed lab", () => {
  const lab = TestLab.shared();
  let client: ApiClient;

  const apply = async (yaml: string) => {
    const r = await lab.kubelab(["apply", "-n", NS, "-f", "-"], yaml);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  };
  const pod = (name: string) => client.get<Pod>("pods", NS, name);
  const events = async (name: string) =>
    (await client.list<Event>("events", { namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items;
  const logs = async (name: string, container?: string, previous = false) => {
    const args = ["logs", "-n", NS, name, ...(container ? ["-c", container] : []), ...(previous ? ["--previous"] : [])];
    const r = await lab.kubelab(args);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const running = (p: Pod) => {
    if (p.status?.phase !== "Running") throw new Error(`phase ${p.status?.phase}`);
    return p;
  };
  const containersOf = async (...filters: string[]) =>
    (
      await lab.docker(
        "ps",
        "-a",
        ...filters.flatMap((f) => ["--filter", `label=${f}`]),
        "--format",
        '{{.ID}} {{.State}} {{.Label "io.kubelab.container.name"}}',
      )
    )
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [id, state, name] = l.split(" ");
        return { id: id!, state: state!, name: name! };
      });

  beforeAll(async () => {
    await lab.start();
    client = new ApiClient(lab.server, { timeoutMs: 20_000 });
    await eventually("three Ready nodes", async () => {
      const out = await lab.kubelab(["get", "nodes", "--no-headers"]);
      expect(out.stdout.match(/ Ready /g)?.length).toBe(3);
    });
    await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  });
  afterAll(() => {
    client?.close();
    lab.stop();
  });

  describe.concurrent("containers", () => {
    it("runs a pod of two containers that reach each other on localhost, with its IP and node", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: duo}
spec:
  containers:
  - name: web
    image: kubelab/echo:dev
    env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
  - name: caller
    image: kubelab/shell:dev
    command: [sh, -c, "while true; do wget -qO- http://localhost:8080/from-sidecar && echo; sleep 1; done"]
`);
      const p = await eventually("duo Running", async () => running(await pod("duo")));
      expect(p.status!.podIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(p.spec!.nodeName).toMatch(/^node-[123]$/);
      await eventually("the sidecar's answer", async () => expect(await logs("duo", "caller")).toContain('"path":"/from-sidecar"'));
      const wide = await lab.kubelab(["get", "pod", "duo", "-n", NS, "-o", "wide", "--no-headers"]);
      expect(wide.stdout).toMatch(
        new RegExp(`^duo\\s+2/2\\s+Running\\s+0\\s+\\S+\\s+${p.status!.podIp.replace(/\./g, "\\.")}\\s+${p.spec!.nodeName}`),
      );
      const reasons = (await events("duo")).map((e) => e.reason);
      expect(reasons).toEqual(expect.arrayContaining(["Scheduled", "Pulled", "Created", "Started"]));
    });

    it("shares the pod's network and IPC namespaces between its containers", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: shared-ns}
spec:
  containers:
  - {name: a, image: kubelab/shell:dev, command: [sh, -c, 'echo "net $(readlink /proc/self/ns/net) ipc $(readlink /proc/self/ns/ipc)"; sleep 3600']}
  - {name: b, image: kubelab/shell:dev, command: [sh, -c, 'echo "net $(readlink /proc/self/ns/net) ipc $(readlink /proc/self/ns/ipc)"; sleep 3600']}
`);
      await eventually("shared-ns Running", async () => running(await pod("shared-ns")));
      const [a, b] = await eventually("both containers' namespaces", async () => {
        const out = await Promise.all(["a", "b"].map((c) => logs("shared-ns", c)));
        for (const o of out) expect(o).toMatch(/^net net:\[\d+\] ipc ipc:\[\d+\]$/m);
        return out;
      });
      expect(a).toBe(b);
    });

    it("runs init containers to completion, in order, before the app", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: inits}
spec:
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - {name: first, image: kubelab/shell:dev, command: [sh, -c, "sleep 1; echo first >> /work/order"], volumeMounts: [{name: work, mountPath: /work}]}
  - {name: second, image: kubelab/shell:dev, command: [sh, -c, "echo second >> /work/order"], volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - {name: app, image: kubelab/shell:dev, command: [sh, -c, "cat /work/order; sleep 3600"], volumeMounts: [{name: work, mountPath: /work}]}
`);
      const p = await eventually("inits Running", async () => running(await pod("inits")));
      const [first, second] = p.status!.initContainerStatuses;
      expect(first!.state!.terminated!.reason).toBe("Completed");
      expect(second!.state!.terminated!.reason).toBe("Completed");
      expect(second!.state!.terminated!.startedAt >= first!.state!.terminated!.finishedAt).toBe(true);
      expect(p.status!.conditions.find((c) => c.type === "Initialized")?.status).toBe("True");
      await eventually("the order file", async () => expect(await logs("inits")).toBe("first\nsecond\n"));
    });

    it("takes env from a ConfigMap, key by key and whole", async () => {
      await apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello-from-configmap, MODE: lab}
---
apiVersion: v1
kind: Pod
metadata: {name: envy}
spec:
  containers:
  - name: app
    image: kubelab/shell:dev
    command: [sh, -c, 'echo "GREETING=$GREETING MODE=$MODE EXPANDED=$(GREETING)"; sleep 3600']
    env: [{name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}]
    envFrom: [{configMapRef: {name: settings}}]
`);
      await eventually("envy's output", async () =>
        expect(await logs("envy")).toBe("GREETING=hello-from-configmap MODE=lab EXPANDED=hello-from-configmap\n"),
      );
    });

    it("backs a crash-looping container off and counts its restarts", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  containers: [{name: app, image: kubelab/shell:dev, command: [sh, -c, "echo attempt; exit 2"]}]
`);
      const p = await eventually("CrashLoopBackOff after two restarts", async () => {
        const cur = await pod("crasher");
        const cs = cur.status!.containerStatuses[0]!;
        expect(cs.restartCount).toBeGreaterThanOrEqual(2);
        expect(cs.state?.waiting?.reason).toBe("CrashLoopBackOff");
        return cur;
      });
      const cs = p.status!.containerStatuses[0]!;
      expect(cs.state!.waiting!.message).toMatch(/^back-off \d+s restarting failed container=app pod=crasher_pods-e2e\(/);
      expect(cs.lastState!.terminated!.exitCode).toBe(2);
      expect(cs.lastState!.terminated!.reason).toBe("Error");
      expect(p.status!.phase).toBe("Running");
      expect((await events("crasher")).some((e) => e.reason === "BackOff" && e.type === "Warning")).toBe(true);
      expect(await logs("crasher", undefined, true)).toBe("attempt\n");
      // The back-off (2 s base here, doubling) may have run out by now: the container then runs
      // for an instant before it exits again, and the table shows that instant as Running.
      await eventually("the table shows CrashLoopBackOff", async () => {
        const table = await lab.kubelab(["get", "pod", "crasher", "-n", NS, "--no-headers"]);
        expect(table.stdout).toMatch(/^crasher\s+0\/1\s+CrashLoopBackOff\s+\d+/);
      });
    });

    it("restarts a container whose liveness probe fails", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: unlively}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: kubelab/shell:dev
    command: [sleep, "3600"]
    livenessProbe: {exec: {command: [test, -f, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 2}
`);
      await eventually("a liveness restart", async () =>
        expect((await pod("unlively")).status!.containerStatuses[0]!.restartCount).toBeGreaterThanOrEqual(1),
      );
      const evs = await events("unlively");
      expect(evs.find((e) => e.reason === "Unhealthy")?.message).toMatch(/^Liveness probe failed: /);
      expect(evs.find((e) => e.reason === "Killing")?.message).toBe("Container app failed liveness probe, will be restarted");
    });

    it("keeps a pod whose readiness probe fails Running but not Ready", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: unready}
spec:
  containers:
  - name: web
    image: kubelab/echo:dev
    readinessProbe: {httpGet: {path: /healthz, port: 9999}, periodSeconds: 1}
`);
      await eventually("a failed readiness probe", async () =>
        expect((await events("unready")).find((e) => e.reason === "Unhealthy")?.message).toMatch(
          /^Readiness probe failed: Get "http:\/\/[\d.]+:9999\/healthz": dial tcp [\d.]+:9999: connect: connection refused$/,
        ),
      );
      const p = running(await pod("unready"));
      const ready = p.status!.conditions.find((c) => c.type === "Ready")!;
      expect(ready.status).toBe("False");
      expect(ready.message).toBe("containers with unready status: [web]");
      expect(p.status!.containerStatuses[0]!.ready).toBe(false);
      expect(p.status!.containerStatuses[0]!.restartCount).toBe(0);
    });

    it("reports a memory hog killed at its limit as OOMKilled", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: kubelab/burner:dev
    env: [{name: MEMORY_MB, value: "256"}, {name: CPU_MILLICORES, value: "0"}]
    resources: {limits: {memory: 64Mi}}
`);
      const p = await eventually("the OOM kill", async () => {
        const cur = await pod("hog");
        expect(cur.status!.phase).toBe("Failed");
        return cur;
      });
      const t = p.status!.containerStatuses[0]!.state!.terminated!;
      expect(t.reason).toBe("OOMKilled");
      expect(t.exitCode).toBe(137);
    });

    it("shows ErrImagePull then ImagePullBackOff for an image nobody has", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  containers: [{name: app, image: kubelab/does-not-exist:v1}]
`);
      await eventually("ImagePullBackOff", async () =>
        expect((await pod("noimage")).status!.containerStatuses[0]!.state?.waiting?.reason).toBe("ImagePullBackOff"),
      );
      const evs = await events("noimage");
      expect(evs.some((e) => e.reason === "Failed" && e.message === "Error: ErrImagePull")).toBe(true);
      expect(evs.some((e) => e.reason === "Failed" && e.message.startsWith('Failed to pull image "kubelab/does-not-exist:v1": '))).toBe(
        true,
      );
      expect(evs.some((e) => e.reason === "BackOff" && e.message === 'Back-off pulling image "kubelab/does-not-exist:v1"')).toBe(true);
    });

    it("says why a pod fits nowhere, and retries it", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: giant}
spec:
  containers: [{name: app, image: kubelab/echo:dev, resources: {requests: {cpu: "64", memory: 1Gi}}}]
`);
      const cond = await eventually("PodScheduled=False", async () => {
        const c = (await pod("giant")).status!.conditions.find((x) => x.type === "PodScheduled");
        expect(c?.status).toBe("False");
        return c!;
      });
      expect(cond.reason).toBe("Unschedulable");
      expect(cond.message).toBe("0/3 nodes are available: 3 Insufficient cpu.");
      await eventually("a repeated FailedScheduling event", async () => {
        const ev = (await events("giant")).find((e) => e.reason === "FailedScheduling");
        expect(ev?.message).toBe("0/3 nodes are available: 3 Insufficient cpu.");
        expect(ev?.count).toBeGreaterThanOrEqual(2);
      });
      const described = await lab.kubelab(["describe", "pod", "giant", "-n", NS]);
      expect(described.stdout).toMatch(
        /Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/3 nodes are available: 3 Insufficient cpu\./,
      );
    });

    it("resolves Services by short and full name through the cluster DNS, and unknown names to NXDOMAIN", async () => {
      await apply(`
apiVersion: v1
kind: Service
metadata: {name: named}
spec:
  selector: {app: named}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: resolver}
spec:
  containers:
  - name: sh
    image: kubelab/shell:dev
    command:
    - sh
    - -c
    - |
      grep -E '^(search|options)' /etc/resolv.conf
      # The Service may reach the DNS server's cache a moment after this pod starts: ask again.
      for i in $(seq 1 30); do
        for n in named named.${NS}.svc.cluster.local nothere.${NS}.svc.cluster.local; do
          echo "$n => $(nslookup -type=A $n 2>&1 | tr '\\n\\t' '  ')"
        done
        sleep 1
      done
      sleep 3600
`);
      const svc = await client.get<Service>("services", NS, "named");
      const ip = svc.spec!.clusterIp.replaceAll(".", "\\.");
      await eventually("the resolver's answers", async () => {
        const out = await logs("resolver");
        expect(out).toContain(`search ${NS}.svc.cluster.local svc.cluster.local cluster.local`);
        expect(out).toContain("options ndots:5");
        expect(out).toMatch(new RegExp(`^named => .*Name: +named\\.${NS}\\.svc\\.cluster\\.local +Address: +${ip}( |$)`, "m"));
        expect(out).toMatch(new RegExp(`^named\\.${NS}\\.svc\\.cluster\\.local => .*Address: +${ip}( |$)`, "m"));
        expect(out).toMatch(new RegExp(`^nothere\\.${NS}\\.svc\\.cluster\\.local => .*NXDOMAIN`, "m"));
      });
    });

    it("wires each pod's network through the pod network plugin: its own eth0 and address, its routes, its name in /etc/hosts", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: wired}
spec:
  containers:
  - name: sh
    image: kubelab/shell:dev
    command: [sh, -c, 'ip -o -4 addr show eth0; ip route; grep wired /etc/hosts; sleep 3600']
`);
      const p = await eventually("wired running", async () => running(await pod("wired")));
      const ip = p.status!.podIp;
      const uid = p.metadata!.uid;
      // An address from the upper half of the pods network's subnet (the plugin's range).
      const [subnet, gateway] = (
        await lab.docker("network", "inspect", `${lab.project}_pods`, "--format", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}")
      )
        .trim()
        .split(" ");
      const { base, size, prefixLength: len } = parseIPv4Cidr(subnet!)!;
      expect(parseIPv4(ip)! - base).toBeGreaterThan(size / 2);
      expect(parseIPv4(ip)! - base).toBeLessThan(size - 1);
      // The sandbox has no Docker network; it carries its address in its labels.
      const [sandbox] = await containersOf(`io.kubelab.pod.uid=${uid}`, "io.kubelab.container.type=sandbox");
      const inspected = (
        await lab.docker("inspect", sandbox!.id, "--format", '{{.HostConfig.NetworkMode}} {{index .Config.Labels "io.kubelab.pod.ip"}}')
      ).trim();
      expect(inspected).toBe(`none ${ip}`);
      await eventually("wired's view of its network", async () => {
        const out = await logs("wired");
        expect(out).toMatch(new RegExp(`eth0 +inet ${ip.replaceAll(".", "\\.")}/${len} `));
        expect(out).toContain(`default via ${gateway} dev eth0`);
        expect(out).toMatch(/^10\.96\.0\.0\/12 via \S+ dev eth0/m);
        expect(out).toMatch(new RegExp(`^${ip.replaceAll(".", "\\.")}\\s+wired$`, "m"));
      });
      // The host end of the pair is on the bridge while the sandbox lives, and goes with it.
      const hostEnd = `/sys/class/net/kl${sandbox!.id.slice(0, 12)}`;
      expect(path.basename(fs.readlinkSync(`${hostEnd}/master`))).toMatch(/^br-/);
      await client.delete("pods", NS, "wired", { gracePeriodSeconds: 0 });
      await eventually("the host end gone", async () => {
        expect(fs.existsSync(hostEnd)).toBe(false);
      });
    });

    it("gives the app its SIGTERM on graceful deletion, then removes the pod", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 30
  containers: [{name: web, image: kubelab/echo:dev}]
`);
      const p = await eventually("graceful Running", async () => running(await pod("graceful")));
      await eventually("the server listening", async () => expect(await logs("graceful")).toContain("echo listening"));
      const followed: string[] = [];
      const following = (async () => {
        for await (const chunk of client.logs({ namespace: NS, name: "graceful", follow: true }))
          followed.push(Buffer.from(chunk).toString());
      })();
      await new Promise((r) => setTimeout(r, 500));
      const del = await lab.kubelab(["delete", "pod", "graceful", "-n", NS]);
      expect(del.stdout.trim()).toBe('pod "graceful" deleted');
      await following;
      expect(followed.join("")).toContain("received SIGTERM, closing");
      await eventually("the pod object gone", async () => {
        const r = await lab.kubelab(["get", "pod", "graceful", "-n", NS]);
        expect(r.stderr.trim()).toBe('Error from server (NotFound): pods "graceful" not found');
      });
      expect(await containersOf(`io.kubelab.pod.uid=${p.metadata!.uid}`)).toEqual([]);
      expect((await events("graceful")).some((e) => e.reason === "Killing" && e.message === "Stopping container web")).toBe(true);
    });
  });

  describe("nodes", () => {
    const pinned = (name: string, node: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  nodeSelector: {kubernetes.io/hostname: ${node}}
  terminationGracePeriodSeconds: 2
  containers: [{name: web, image: kubelab/echo:dev}]
`;

    it("adopts running containers when only the kubelet restarts", async () => {
      await apply(pinned("adopted", "node-1"));
      const p = await eventually("adopted Running", async () => running(await pod("adopted")));
      const before = await containersOf(`io.kubelab.pod.uid=${p.metadata!.uid}`);
      const node = lab.container("node-1");
      const bootId = async () => (await client.get<Node>("nodes", "", "node-1")).status!.nodeInfo!.bootId;
      const firstBoot = await bootId();
      await lab.docker("exec", node, "sh", "-c", "kill $(ps | grep '[k]ubelet/dist/main.js' | awk '{print $1}')");
      // Each kubelet process reports a boot id of its own.
      await eventually("the kubelet back", async () => expect(await bootId()).not.toBe(firstBoot));
      await new Promise((r) => setTimeout(r, 3000));
      expect(await containersOf(`io.kubelab.pod.uid=${p.metadata!.uid}`)).toEqual(before);
      expect((await pod("adopted")).status!.containerStatuses[0]!.restartCount).toBe(0);
    });

    it("removes its own orphans but never the containers of another lab on the same Docker engine", async () => {
      // Two labs on one engine (the README's and the tests') both have a node-1: a kubelet that
      // went by node name alone would take the other lab's pods for orphans and remove them.
      const labels = (project: string) =>
        [
          "io.kubelab.lab=true",
          "io.kubelab.node=node-1",
          `io.kubelab.project=${project}`,
          `io.kubelab.pod.uid=${randomUUID()}`,
          "io.kubelab.container.type=app",
          "io.kubelab.container.name=app",
        ].flatMap((l) => ["--label", l]);
      const run = async (project: string) =>
        (await lab.docker("run", "-d", ...labels(project), "kubelab/shell:dev", "sleep", "600")).trim();
      const foreign = await run(`${lab.project}-elsewhere`);
      try {
        const orphan = await run(lab.project);
        await eventually("our orphan removed by housekeeping", async () =>
          expect((await lab.docker("ps", "-aq", "--no-trunc", "--filter", `id=${orphan}`)).trim()).toBe(""),
        );
        expect((await lab.docker("inspect", "-f", "{{.State.Running}}", foreign)).trim()).toBe("true");
      } finally {
        await lab.docker("rm", "-f", foreign);
      }
    });

    it("leaves no duplicate or orphan container after the node container is killed and started", async () => {
      await apply(`${pinned("keeper", "node-3")}---\n${pinned("leaver", "node-3")}`);
      const keeper = await eventually("keeper Running", async () => running(await pod("keeper")));
      const leaver = await eventually("leaver Running", async () => running(await pod("leaver")));
      const node = lab.container("node-3");
      await lab.docker("kill", node);
      // The node is down: its pods' containers died with it (Docker notes each exit a moment later).
      await eventually(
        "node-3's containers stopped",
        async () =>
          expect(
            (await containersOf("io.kubelab.node=node-3", `io.kubelab.project=${lab.project}`)).filter((c) => c.state === "running"),
          ).toEqual([]),
        15_000,
      );
      await client.delete("pods", NS, "leaver", { gracePeriodSeconds: 0 });
      await lab.docker("start", node);
      await eventually("keeper running again", async () => {
        const cur = running(await pod("keeper"));
        expect(cur.status!.containerStatuses[0]!.restartCount).toBe(1);
        expect(cur.status!.containerStatuses[0]!.state?.running).toBeDefined();
      });
      await eventually("the leaver's containers removed", async () =>
        expect(await containersOf(`io.kubelab.pod.uid=${leaver.metadata!.uid}`)).toEqual([]),
      );
      const mine = await containersOf(`io.kubelab.pod.uid=${keeper.metadata!.uid}`);
      const live = mine
        .filter((c) => c.state === "running")
        .map((c) => c.name)
        .sort();
      expect(live).toEqual(["POD", "web"]);
      // Across the node: no container of a pod the API server does not have, no pod with two of anything running.
      const uids = new Set((await client.list<Pod>("pods", { namespace: NS })).items.map((x) => x.metadata!.uid));
      const onNode = (
        await lab.docker(
          "ps",
          "-a",
          "--filter",
          "label=io.kubelab.node=node-3",
          // Other suites' labs on the same engine have a node-3 too.
          "--filter",
          `label=io.kubelab.project=${lab.project}`,
          "--format",
          '{{.State}} {{.Label "io.kubelab.pod.uid"}} {{.Label "io.kubelab.container.name"}}',
        )
      )
        .trim()
        .split("\n")
        .map((l) => l.split(" "));
      expect(onNode.filter(([, uid]) => !uids.has(uid!))).toEqual([]);
      const runningKeys = onNode.filter(([state]) => state === "running").map(([, uid, name]) => `${uid}/${name}`);
      expect(new Set(runningKeys).size).toBe(runningKeys.length);
    });

    it("reports FailedCreatePodSandBox while the pod network plugin is down and runs the pod once it is back; running pods keep their network", async () => {
      await apply(pinned("before-outage", "node-1"));
      const before = await eventually("before-outage Running", async () => running(await pod("before-outage")));
      const plugin = lab.container("pod-network");
      await lab.docker("stop", "-t", "2", plugin);
      try {
        await apply(pinned("during-outage", "node-1"));
        await eventually("a FailedCreatePodSandBox event", async () => {
          const ev = (await events("during-outage")).find((e) => e.reason === "FailedCreatePodSandBox");
          expect(ev?.message).toMatch(/^Failed to create pod sandbox: pod network plugin: /);
        });
        expect((await pod("during-outage")).status?.phase).toBe("Pending");
        // A wired sandbox needs the plugin no more: the running pod still answers at its address.
        const res = await fetch(`http://${before.status!.podIp}:8080/`, { signal: AbortSignal.timeout(5000) });
        expect(((await res.json()) as { pod: string }).pod).toBe("before-outage");
      } finally {
        await lab.docker("start", plugin);
      }
      await eventually("during-outage Running", async () => running(await pod("during-outage")));
    });

    it("stops a node's pods when its container stops, and runs them again when it starts", async () => {
      await apply(pinned("powered", "node-2"));
      await eventually("powered Running", async () => running(await pod("powered")));
      const node = lab.container("node-2");
      await lab.docker("stop", "-t", "2", node);
      await eventually(
        "node-2's containers stopped",
        async () =>
          expect(
            (await containersOf("io.kubelab.node=node-2", `io.kubelab.project=${lab.project}`)).filter((c) => c.state === "running"),
          ).toEqual([]),
        15_000,
      );
      await lab.docker("start", node);
      await eventually("powered running again", async () => {
        const cur = running(await pod("powered"));
        expect(cur.status!.containerStatuses[0]!.restartCount).toBe(1);
      });
    });
  });
});
