import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event, Pod } from "@kubelab/api";
import { ApiClient } from "@kubelab/client";
import { eventually as eventuallyWithin } from "../support/eventually.js";
import { TestLab } from "../support/lab.js";

// Pod volumes on the composed lab: files the kubelet writes (configMap, secret, downwardAPI),
// emptyDir on disk and in memory, hostPath inside the node, subPath and readOnly.
const NS = "volumes-e2e";

const eventually = <T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000) => eventuallyWithin(what, fn, timeoutMs);

describe("pod volumes on the composed lab", () => {
  const lab = TestLab.shared();
  let client: ApiClient;

  const apply = async (yaml: string) => {
    const r = await lab.kubelab(["apply", "-n", NS, "-f", "-"], yaml);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  };
  const exec = async (pod: string, container: string, script: string) => {
    const r = await lab.kubelab(["exec", "-n", NS, pod, "-c", container, "--", "sh", "-c", script]);
    if (r.code !== 0) throw new Error(`exec in ${pod}/${container}: ${r.stderr}`);
    return r.stdout;
  };
  const running = async (name: string) =>
    eventually(`${name} running`, async () => {
      const p = await client.get<Pod>("pods", NS, name);
      expect(p.status?.phase).toBe("Running");
      return p;
    });
  const events = async (name: string) =>
    (await client.list<Event>("events", { namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items;

  beforeAll(async () => {
    await lab.start();
    client = new ApiClient(lab.server, { timeoutMs: 20_000 });
    await eventually("three Ready nodes", async () => {
      const out = await lab.kubelab(["get", "nodes", "--no-headers"]);
      expect(out.stdout.match(/ Ready /g)?.length).toBe(3);
    });
    await apply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n`);
  }, 900_000);
  afterAll(() => {
    client?.close();
    lab.stop();
  });

  describe.concurrent("volumes", () => {
    it("writes a ConfigMap's keys as files and shows an update within the sync period (10 s)", async () => {
      await apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {greeting: hello, app.conf: "a=1"}
---
apiVersion: v1
kind: Pod
metadata: {name: cm, labels: {team: blue}}
spec:
  containers:
  - name: app
    image: kubelab/shell:dev
    command: [sleep, "3600"]
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: config, mountPath: /etc/app.conf, subPath: app.conf}
    - {name: info, mountPath: /etc/podinfo}
  volumes:
  - {name: config, configMap: {name: app-config}}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
`);
      await running("cm");
      expect(
        await exec("cm", "app", "cat /etc/config/greeting; echo; cat /etc/app.conf; echo; cat /etc/podinfo/labels /etc/podinfo/name"),
      ).toBe('hello\na=1\nteam="blue"cm');
      const layout = await exec("cm", "app", "ls -a /etc/config; readlink /etc/config/..data; readlink /etc/config/greeting");
      expect(layout).toMatch(/\.\.2\d{3}_\d\d_\d\d_\d\d_\d\d_\d\d\.\w+/);
      expect(layout).toContain("..data/greeting");
      expect(await exec("cm", "app", "touch /etc/config/x 2>&1 || echo read-only")).toContain("read-only");

      await apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {greeting: bonjour, app.conf: "a=2"}
`);
      const changed = Date.now();
      await eventually("the new greeting", async () => expect(await exec("cm", "app", "cat /etc/config/greeting")).toBe("bonjour"), 20_000);
      expect(Date.now() - changed).toBeLessThan(20_000);
      // A subPath mount is bound once: Kubernetes does not update it either.
      expect(await exec("cm", "app", "cat /etc/app.conf")).toBe("a=1");
      const labelled = await client.get<Pod>("pods", NS, "cm");
      labelled.metadata!.labels.team = "green";
      await client.update(labelled);
      await eventually(
        "the new label",
        async () => expect(await exec("cm", "app", "cat /etc/podinfo/labels")).toBe('team="green"'),
        20_000,
      );
    });

    it("mounts a Secret on a tmpfs", async () => {
      await apply(`
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Pod
metadata: {name: secret}
spec:
  containers:
  - name: app
    image: kubelab/shell:dev
    command: [sleep, "3600"]
    env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    volumeMounts:
    - {name: creds, mountPath: /etc/creds}
    - {name: all, mountPath: /etc/all}
    - {name: scratch, mountPath: /scratch, subPathExpr: $(POD_NAME)}
  volumes:
  - {name: creds, secret: {secretName: creds, defaultMode: 0400}}
  - {name: scratch, emptyDir: {}}
  - name: all
    projected:
      sources:
      - secret: {name: creds, items: [{key: password, path: secret/password}]}
      - configMap: {name: projected-config}
      - downwardAPI: {items: [{path: namespace, fieldRef: {fieldPath: metadata.namespace}}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: projected-config}
data: {color: blue}
`);
      await running("secret");
      expect(await exec("secret", "app", "cat /etc/creds/password")).toBe("hunter2");
      expect(await exec("secret", "app", "stat -L -c %a /etc/creds/password")).toBe("400\n");
      expect(await exec("secret", "app", "grep ' /etc/creds ' /proc/mounts")).toMatch(/^\S+ \/etc\/creds tmpfs ro[, ]/);
      expect(await exec("secret", "app", "cat /etc/all/secret/password /etc/all/color /etc/all/namespace")).toBe(`hunter2blue${NS}`);
      expect(await exec("secret", "app", "grep ' /etc/all ' /proc/mounts")).toMatch(/ \/etc\/all tmpfs ro[, ]/);
      // subPathExpr: the emptyDir's directory named after the pod.
      expect(await exec("secret", "app", "grep -c ' /scratch ' /proc/mounts")).toBe("1\n");
      const p = await client.get<Pod>("pods", NS, "secret");
      await exec("secret", "app", "touch /scratch/mine");
      expect(await lab.docker("run", "--rm", "-v", `kubelab-${p.metadata!.uid}-scratch:/v`, "kubelab/shell:dev", "ls", "/v/secret")).toBe(
        "mine\n",
      );
    });

    it("shares an emptyDir between two containers, and a Memory emptyDir is a tmpfs of its sizeLimit", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  containers:
  - name: writer
    image: kubelab/shell:dev
    command: [sh, -c, "echo from-writer > /data/note; echo sub > /data/part/f; sleep 3600"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: data, mountPath: /data/part, subPath: part}
    - {name: cache, mountPath: /cache}
  - name: reader
    image: kubelab/shell:dev
    command: [sleep, "3600"]
    volumeMounts:
    - {name: data, mountPath: /data, readOnly: true}
    - {name: cache, mountPath: /cache}
  volumes:
  - {name: data, emptyDir: {}}
  - {name: cache, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
`);
      await running("shared");
      await eventually("the writer's note", async () =>
        expect(await exec("shared", "reader", "cat /data/note /data/part/f")).toBe("from-writer\nsub\n"),
      );
      expect(await exec("shared", "reader", "touch /data/x 2>&1 || echo read-only")).toContain("read-only");
      expect(await exec("shared", "reader", "grep ' /cache ' /proc/mounts")).toMatch(/ \/cache tmpfs rw.*size=8192k/);
      await exec("shared", "writer", "echo mem > /cache/m");
      expect(await exec("shared", "reader", "cat /cache/m")).toBe("mem\n");
    });

    it("mounts hostPath directories and files inside the node, with Kubernetes' type checks", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: host}
spec:
  nodeName: node-2
  containers:
  - name: app
    image: kubelab/shell:dev
    command: [sh, -c, "echo from-pod > /host/written; sleep 3600"]
    volumeMounts:
    - {name: dir, mountPath: /host}
    - {name: file, mountPath: /etc/node-file, readOnly: true}
    - {name: sock, mountPath: /var/run/node-docker.sock}
  volumes:
  - {name: dir, hostPath: {path: /var/lib/e2e-host-dir, type: DirectoryOrCreate}}
  - {name: file, hostPath: {path: /var/lib/e2e-host-file, type: FileOrCreate}}
  - {name: sock, hostPath: {path: /var/run/docker.sock, type: Socket}}
`);
      await running("host");
      const node = lab.container("node-2");
      await eventually("the pod's file in the node", async () =>
        expect(await lab.docker("exec", node, "cat", "/var/lib/e2e-host-dir/written")).toBe("from-pod\n"),
      );
      await lab.docker("exec", node, "sh", "-c", "echo from-node > /var/lib/e2e-host-file");
      expect(await exec("host", "app", "cat /etc/node-file")).toBe("from-node\n");
      // A path the node has from a mount of its own (the Docker socket) is that mount's source.
      expect(await exec("host", "app", "test -S /var/run/node-docker.sock && echo socket")).toBe("socket\n");

      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: host-missing}
spec:
  nodeName: node-2
  containers: [{name: app, image: kubelab/shell:dev, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /d}]}]
  volumes: [{name: d, hostPath: {path: /no/such/dir, type: Directory}}]
`);
      await eventually("a FailedMount event", async () =>
        expect((await events("host-missing")).map((e) => `${e.reason}: ${e.message}`)).toContain(
          'FailedMount: MountVolume.SetUp failed for volume "d" : hostPath type check failed: /no/such/dir is not a directory',
        ),
      );
      expect((await client.get<Pod>("pods", NS, "host-missing")).status?.containerStatuses[0]?.state?.waiting?.reason).toBe(
        "ContainerCreating",
      );
    });

    it("does not start a pod whose ConfigMap is missing unless it is optional", async () => {
      await apply(`
apiVersion: v1
kind: Pod
metadata: {name: cm-missing}
spec:
  containers: [{name: app, image: kubelab/shell:dev, command: [sleep, "3600"], volumeMounts: [{name: c, mountPath: /c}, {name: o, mountPath: /o}]}]
  volumes:
  - {name: o, configMap: {name: nowhere, optional: true}}
  - {name: c, configMap: {name: nowhere}}
`);
      await eventually("a FailedMount event", async () =>
        expect((await events("cm-missing")).map((e) => `${e.reason}: ${e.message}`)).toContain(
          'FailedMount: MountVolume.SetUp failed for volume "c" : configmap "nowhere" not found',
        ),
      );
      expect((await client.get<Pod>("pods", NS, "cm-missing")).status?.phase).toBe("Pending");
    });

    it("refuses an invalid pod in Kubernetes' words", async () => {
      const r = await lab.kubelab(
        ["apply", "-n", NS, "-f", "-"],
        `
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers: [{name: app, image: kubelab/shell:dev, volumeMounts: [{name: x, mountPath: /x}, {name: v, mountPath: /v, subPath: ../up}]}]
  volumes: [{name: v, emptyDir: {}}]
`,
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec.containers[0].volumeMounts[0].name: Not found: "x"');
      expect(r.stderr).toContain("spec.containers[0].volumeMounts.subPath: Invalid value: \"../up\": must not contain '..'");
    });
  });

  it("removes volume directories of pods the node no longer has (as after a kubelet restart)", async () => {
    const node = lab.container("node-1");
    await lab.docker("exec", node, "mkdir", "-p", "/var/lib/kubelet/pods/no-such-pod/volumes/kubernetes.io~configmap/x");
    await eventually("the orphan's directory gone", async () => {
      expect(await lab.docker("exec", node, "sh", "-c", "test -e /var/lib/kubelet/pods/no-such-pod && echo present || echo gone")).toBe(
        "gone\n",
      );
    });
  });

  it("removes a pod's volume directories with the pod", async () => {
    const p = await client.get<Pod>("pods", NS, "secret");
    const node = lab.container(p.spec!.nodeName);
    const dir = `/var/lib/kubelet-memory/pods/${p.metadata!.uid}`;
    expect(await lab.docker("exec", node, "ls", dir)).toContain("volumes");
    await lab.kubelab(["delete", "-n", NS, "pod", "secret"]);
    await eventually("the pod's directory gone", async () => {
      expect(await lab.docker("exec", node, "sh", "-c", `test -e ${dir} && echo present || echo gone`)).toBe("gone\n");
    });
  });
});
