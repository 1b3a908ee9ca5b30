import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApiServer } from "@kubelab/apiserver";
import type { ApiClient } from "@kubelab/client";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, type Node } from "@kubelab/api";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

const bin = path.resolve("cli/bin/kubelab.js");
const dir = mkdtempSync(path.join(os.tmpdir(), "kubelab-cli-it-"));

describe("kubelab CLI against a real API server", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let address: string;
  const kubelab = (args: string[], input?: string) =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      const child = execFile(process.execPath, [bin, "-s", address, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
      if (input !== undefined) child.stdin?.end(input);
    });

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    address = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("accepts every example in examples/ as written", async () => {
    expect((await kubelab(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata: {name: examples}\n")).code).toBe(0);
    for (const d of ["examples/pods", "examples/workloads", "examples/storage", "examples/quickstart.yaml"]) {
      const r = await kubelab(["apply", "-n", "examples", "-f", path.resolve(d)]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(
        r.stdout
          .trim()
          .split("\n")
          .every((l) => l.endsWith(" created")),
      ).toBe(true);
    }
  });

  it("applies a directory, then reports unchanged and configured", async () => {
    const d = mkdtempSync(path.join(dir, "manifests-"));
    writeFileSync(path.join(d, "1-ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: cli}\n");
    writeFileSync(
      path.join(d, "2-cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: cli, labels: {app: x}}\ndata: {a: '1', b: '2'}\n",
    );
    expect((await kubelab(["apply", "-f", d])).stdout).toBe("namespace/cli created\nconfigmap/one created\n");
    expect((await kubelab(["apply", "-f", d])).stdout).toBe("namespace/cli unchanged\nconfigmap/one unchanged\n");
    writeFileSync(
      path.join(d, "2-cm.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: cli, labels: {app: x}}\ndata: {a: '1'}\n",
    );
    expect((await kubelab(["apply", "-f", d])).stdout).toBe("namespace/cli unchanged\nconfigmap/one configured\n");
    const cm = JSON.parse((await kubelab(["get", "configmap", "one", "-n", "cli", "-o", "json"])).stdout);
    expect(cm.data).toEqual({ a: "1" }); // the key the last apply dropped is gone (three-way apply)
  });

  it("prints an empty List for -o json and -o yaml when nothing matches, and a note for a table", async () => {
    const json = await kubelab(["get", "configmaps", "-n", "nothing-here", "-o", "json"]);
    expect(json.stderr).toBe("");
    expect(JSON.parse(json.stdout)).toMatchObject({ apiVersion: "v1", kind: "List", items: [] });
    const yaml = await kubelab(["get", "configmaps", "-n", "nothing-here", "-o", "yaml"]);
    expect(yaml.stdout).toMatch(/^items: \[\]$/m);
    const table = await kubelab(["get", "configmaps", "-n", "nothing-here"]);
    expect(table.stdout).toBe("");
    expect(table.stderr).toBe("No resources found in nothing-here namespace.\n");
  });

  it("writes nothing when any document is invalid, naming the field", async () => {
    const res = await kubelab(
      ["apply", "-f", "-"],
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first, namespace: cli}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: cli}\nspec:\n  containers:\n  - name: c\n    imagee: busybox\n",
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('error: <stdin>#2: Pod "p" is invalid: strict decoding error: unknown field "spec.containers[0].imagee"\n');
    expect((await kubelab(["get", "cm", "first", "-n", "cli"])).code).toBe(1);
    const invalid = await kubelab(
      ["apply", "-f", "-"],
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: cli}\nspec:\n  containers:\n  - name: c\n",
    );
    expect(invalid.stderr).toBe('Error from server (Invalid): Pod "p" is invalid: spec.containers[0].image: Required value\n');
  });

  it("gets tables, names and selections; describes with events", async () => {
    await kubelab(["apply", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two, namespace: cli, labels: {app: y}}\n");
    expect((await kubelab(["get", "cm", "-n", "cli", "-l", "app=y", "-o", "name"])).stdout).toBe("configmap/two\n");
    const table = (await kubelab(["get", "cm", "-A", "--field-selector", "metadata.namespace=cli"])).stdout.split("\n");
    expect(table[0].split(/\s{3,}/)).toEqual(["NAMESPACE", "NAME", "DATA", "AGE"]);
    expect(
      table
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual(["one", "two"]);
    await kubelab(
      ["apply", "-f", "-"],
      "apiVersion: v1\nkind: Event\nmetadata: {name: two.1, namespace: cli}\ninvolvedObject: {kind: ConfigMap, name: two, namespace: cli}\nreason: Tested\nmessage: described here\ntype: Normal\nsource: {component: test}\nlastTimestamp: '2026-01-01T00:00:00Z'\n",
    );
    const described = (await kubelab(["describe", "cm", "two", "-n", "cli"])).stdout;
    expect(described).toMatch(/^Name:\s+two\nNamespace:\s+cli\nLabels:\s+app=y/);
    expect(described).toMatch(/Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n[\s-]+\n\s+Normal\s+Tested\s+\S+\s+test\s+described here/);
    const missing = await kubelab(["get", "nosuchkind"]);
    expect(missing.stderr).toBe('error: the server doesn\'t have a resource type "nosuchkind"\n');
  });

  it("cordons and uncordons nodes, saying so as kubectl does", async () => {
    await client.create(create(NodeSchema, { metadata: { name: "cordoned-1" } }));
    expect((await kubelab(["cordon", "cordoned-1"])).stdout).toBe("node/cordoned-1 cordoned\n");
    expect((await client.get<Node>("nodes", "", "cordoned-1")).spec?.unschedulable).toBe(true);
    expect((await kubelab(["cordon", "cordoned-1"])).stdout).toBe("node/cordoned-1 already cordoned\n");
    expect((await kubelab(["uncordon", "cordoned-1"])).stdout).toBe("node/cordoned-1 uncordoned\n");
    expect((await client.get<Node>("nodes", "", "cordoned-1")).spec?.unschedulable ?? false).toBe(false);
    const missing = await kubelab(["cordon", "no-such-node"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): nodes "no-such-node" not found');
  });

  it("watches changes with get -w", async () => {
    const child = spawn(process.execPath, [bin, "-s", address, "get", "cm", "-n", "cli", "-w", "--no-headers"]);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const until = async (text: string) => {
      const deadline = Date.now() + 15_000;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no ${text} in ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until("two");
    await kubelab(["apply", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: three, namespace: cli}\ndata: {z: '1'}\n");
    await until("three");
    child.kill("SIGINT");
    expect(out.split("\n")[0]).toMatch(/^one\s+1\s+/);
  });

  it("deletes by name, by selector and by file; a missing object is an error", async () => {
    expect((await kubelab(["delete", "cm", "three", "-n", "cli"])).stdout).toBe('configmap "three" deleted\n');
    expect((await kubelab(["delete", "cm", "-l", "app=y", "-n", "cli"])).stdout).toBe('configmap "two" deleted\n');
    const f = path.join(dir, "one.yaml");
    writeFileSync(f, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: cli}\n");
    expect((await kubelab(["delete", "-f", f])).stdout).toBe('configmap "one" deleted\n');
    const again = await kubelab(["delete", "-f", f]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('Error from server (NotFound): configmaps "one" not found\n');
  });

  it("prints versions, and says so when the server cannot be reached", async () => {
    expect((await kubelab(["version"])).stdout).toMatch(
      /^Client Version: v\d+\.\d+\.\d+\nServer Version: v\d+\.\d+\.\d+ .*\netcd Version: 3\.\d+\.\d+\n$/,
    );
    const down = await new Promise<{ stderr: string; code: number }>((resolve) =>
      execFile(process.execPath, [bin, "-s", "127.0.0.1:1", "version"], (err, _o, stderr) => resolve({ stderr, code: err ? 1 : 0 })),
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: cannot reach the API server at 127\.0\.0\.1:1: /);
  });
});
