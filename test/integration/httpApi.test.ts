import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApiServer } from "@kubelab/apiserver";
import type { ApiClient } from "@kubelab/client";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";
import { kubectlPath, kubectlWith, noteMissingKubectl, writePlainKubeconfig } from "../support/kubectl.js";

// Kubernetes' HTTP API of one API server on a real etcd cluster, as kubectl and plain HTTP
// clients use it: discovery, every verb, Tables, watches, and Status bodies for mistakes. The
// kubectl on the machine is the client; without one, its tests are skipped (and say so).

const dir = mkdtempSync(path.join(os.tmpdir(), "kubelab-http-it-"));
noteMissingKubectl("httpApi.test.ts");

describe("Kubernetes' HTTP API", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let base: string;
  let kubeconfig: string;

  const kubectl = kubectlWith(() => kubeconfig);
  const http = async (method: string, url: string, body?: unknown, contentType = "application/json") => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: body === undefined ? {} : { "content-type": contentType },
      body: body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    base = `http://127.0.0.1:${server.httpPort}`;
    kubeconfig = writePlainKubeconfig(base);
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("serves discovery as Kubernetes does: /version, /api, /apis and each group version's resources", async () => {
    expect((await http("GET", "/version")).body).toMatchObject({ major: "1", minor: "32" });
    expect((await http("GET", "/api")).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const groups = (await http("GET", "/apis")).body as { groups: Array<{ name: string }> };
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(["apps", "batch", "autoscaling", "coordination.k8s.io", "metrics.k8s.io"]),
    );
    const v1 = (await http("GET", "/api/v1")).body as { resources: Array<{ name: string; shortNames?: string[]; categories?: string[] }> };
    expect(v1.resources.find((r) => r.name === "pods")).toMatchObject({ shortNames: ["po"], categories: ["all"] });
    expect(v1.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(["pods/status", "pods/log", "pods/binding", "namespaces", "nodes"]),
    );
    const apps = (await http("GET", "/apis/apps/v1")).body as { resources: Array<{ name: string; kind: string; group?: string }> };
    expect(apps.resources.find((r) => r.name === "deployments/scale")).toMatchObject({ kind: "Scale", group: "autoscaling" });
    expect((await http("GET", "/apis/nothing/v1")).status).toBe(404);
  });

  it.skipIf(!kubectlPath)("serves aggregated discovery, which kubectl 1.32 reads in two requests instead of one per group", async () => {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), "kubelab-discovery-"));
    const res = await kubectl(["api-resources", "--cache-dir", cacheDir, "-v=6"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(res.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    const discoveryGets = res.stderr.match(/GET http:\/\/[^ ]+\/(api|apis)(\/[^ ?]*)?[ ?]/g) ?? [];
    expect(discoveryGets.map((g) => g.replace(/^GET http:\/\/[^/]+/, "").replace(/[ ?]$/, ""))).toEqual(["/api", "/apis"]);
  });

  it("creates, reads, lists, updates, patches and deletes, with Kubernetes' codes", async () => {
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "one", labels: { app: "x" } }, data: { a: "1" } };
    const created = await http("POST", "/api/v1/namespaces/default/configmaps", cm);
    expect(created.status).toBe(201);
    const meta = created.body.metadata as { resourceVersion: string; namespace: string; uid: string };
    expect(meta.namespace).toBe("default");
    expect((await http("POST", "/api/v1/namespaces/default/configmaps", cm)).status).toBe(409);
    const list = await http("GET", "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dx");
    expect(list.body).toMatchObject({ kind: "ConfigMapList", apiVersion: "v1", items: [{ metadata: { name: "one" } }] });
    const merged = await http("PATCH", "/api/v1/namespaces/default/configmaps/one", { data: { b: "2" } }, "application/merge-patch+json");
    expect(merged.body.data).toEqual({ a: "1", b: "2" });
    const jp = await http(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/one",
      [{ op: "remove", path: "/data/a" }],
      "application/json-patch+json",
    );
    expect(jp.body.data).toEqual({ b: "2" });
    const stale = await http("PUT", "/api/v1/namespaces/default/configmaps/one", {
      ...cm,
      metadata: { ...cm.metadata, resourceVersion: meta.resourceVersion },
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ kind: "Status", status: "Failure", reason: "Conflict", code: 409 });
    const apply = await http("PATCH", "/api/v1/namespaces/default/configmaps/one", "{}", "application/apply-patch+yaml");
    expect(apply.status).toBe(415);
    expect(apply.body.reason).toBe("UnsupportedMediaType");
    const del = await http("DELETE", "/api/v1/namespaces/default/configmaps/one");
    expect(del.body).toMatchObject({ kind: "Status", status: "Success", details: { name: "one", kind: "configmaps" } });
    expect((await http("GET", "/api/v1/namespaces/default/configmaps/one")).body).toMatchObject({
      reason: "NotFound",
      message: 'configmaps "one" not found',
      code: 404,
    });
  });

  it("answers an invalid object with a 422 Status naming each field", async () => {
    const bad = await http("POST", "/apis/apps/v1/namespaces/default/deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "Bad_Name" },
      spec: {
        replicas: -1,
        selector: { matchLabels: { app: "b" } },
        template: { metadata: { labels: { app: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } },
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.reason).toBe("Invalid");
    const causes = (bad.body.details as { causes: Array<{ field: string; reason: string; message: string }> }).causes;
    expect(causes).toContainEqual({
      field: "spec.replicas",
      reason: "FieldValueInvalid",
      message: "Invalid value: -1: must be greater than or equal to 0",
    });
    expect(causes.map((c) => c.field)).toContain("metadata.name");
  });

  it("streams a watch as JSON lines, from a resourceVersion, with bookmarks", async () => {
    const first = await http("POST", "/api/v1/namespaces/default/configmaps", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "w1" },
    });
    const rv = (first.body.metadata as { resourceVersion: string }).resourceVersion;
    const ctrl = new AbortController();
    const res = await fetch(`${base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, {
      signal: ctrl.signal,
    });
    expect(res.status).toBe(200);
    await http("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "w2" } });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
    ctrl.abort();
    const ev = JSON.parse(text.split("\n")[0]!) as { type: string; object: { metadata: { name: string } } };
    expect(ev).toMatchObject({ type: "ADDED", object: { kind: "ConfigMap", metadata: { name: "w2" } } });
  });

  it.skipIf(!kubectlPath)("works with kubectl: get with tables, apply, label, patch, scale, delete, and its errors", async () => {
    expect((await kubectl(["version"])).stdout).toMatch(/Server Version: v1\.32\.0-kubelab/);
    const nodes = await kubectl(["get", "namespaces"]);
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS\s+AGE\n/);
    expect(nodes.stdout).toMatch(/\nkube-system\s+Active\s+\d+s\n/);
    const deployment = path.resolve("examples/workloads/deployment.yaml");
    // Client-side validation needs OpenAPI, which is not served yet.
    expect((await kubectl(["apply", "--validate=false", "-f", deployment])).stdout).toBe("deployment.apps/echo created\n");
    const wide = await kubectl(["get", "deploy", "-o", "wide"]);
    expect(wide.stdout).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\necho\s+0\/6\s+0\s+0\s+\d+s\s+web\s+kubelab\/echo:dev\s+app=echo\n$/,
    );
    expect((await kubectl(["scale", "deploy/echo", "--replicas=3"])).stdout).toBe("deployment.apps/echo scaled\n");
    expect((await kubectl(["label", "deploy", "echo", "tier=web"])).stdout).toBe("deployment.apps/echo labeled\n");
    expect((await kubectl(["patch", "deploy", "echo", "--type=merge", "-p", '{"spec":{"paused":true}}'])).stdout).toBe(
      "deployment.apps/echo patched\n",
    );
    const json = JSON.parse((await kubectl(["get", "deploy", "echo", "-o", "json"])).stdout) as {
      spec: { replicas: number; paused: boolean };
      metadata: { labels: Record<string, string> };
    };
    expect([json.spec.replicas, json.spec.paused, json.metadata.labels.tier]).toEqual([3, true, "web"]);
    expect((await kubectl(["get", "pods", "nope"])).stderr).toBe('Error from server (NotFound): pods "nope" not found\n');
    expect((await kubectl(["delete", "deploy", "echo"])).stdout).toBe('deployment.apps "echo" deleted\n');
    expect((await kubectl(["get", "deploy"])).stderr).toBe("No resources found in default namespace.\n");
  });

  it.skipIf(!kubectlPath)("takes the protobuf bodies of kubectl create, stored as their JSON would be", async () => {
    const get = async <T>(args: string[]) => JSON.parse((await kubectl(["get", ...args, "-o", "json"])).stdout) as T;
    const blob = path.join(dir, "blob.bin");
    writeFileSync(blob, Uint8Array.of(0x00, 0x01, 0xfe, 0xff, 0x80));
    const created = [
      ["configmap", "pc1", "--from-literal=a=b", `--from-file=blob=${blob}`],
      ["secret", "generic", "ps1", "--from-literal=password=x"],
      ["deployment", "pd1", "--image=nginx:1.27", "--replicas=3", "--port=80"],
      ["namespace", "pn1"],
      ["job", "pj1", "--image=busybox", "--", "echo", "hi"],
      ["service", "clusterip", "psvc1", "--tcp=80:8080"],
    ];
    const outputs = await Promise.all(created.map((args) => kubectl(["create", ...args])));
    expect(outputs.map((o) => o.stderr || o.stdout)).toEqual([
      "configmap/pc1 created\n",
      "secret/ps1 created\n",
      "deployment.apps/pd1 created\n",
      "namespace/pn1 created\n",
      "job.batch/pj1 created\n",
      "service/psvc1 created\n",
    ]);
    const cm = await get<{ data: object; binaryData: object; metadata: { namespace: string } }>(["configmap", "pc1"]);
    expect([cm.data, cm.binaryData, cm.metadata.namespace]).toEqual([{ a: "b" }, { blob: "AAH+/4A=" }, "default"]);
    const secret = await get<{ data: object; type: string }>(["secret", "ps1"]);
    expect([secret.data, secret.type]).toEqual([{ password: "eA==" }, "Opaque"]);
    const deploy = await get<{ spec: { template: { spec: { containers: Array<{ ports: unknown }> } } } }>(["deployment", "pd1"]);
    expect(deploy.spec).toMatchObject({
      replicas: 3,
      selector: { matchLabels: { app: "pd1" } },
      template: { metadata: { labels: { app: "pd1" } }, spec: { containers: [{ name: "nginx", image: "nginx:1.27" }] } },
    });
    expect(deploy.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 80, protocol: "TCP" }]);
    expect((await get<{ status: unknown }>(["namespace", "pn1"])).status).toEqual({ phase: "Active" });
    const job = await get<{ spec: { template: { spec: unknown } } }>(["job", "pj1"]);
    expect(job.spec.template.spec).toMatchObject({
      containers: [{ name: "pj1", image: "busybox", command: ["echo", "hi"] }],
      restartPolicy: "Never",
    });
    const svc = await get<{ spec: { clusterIP: string } }>(["service", "psvc1"]);
    expect(svc.spec).toMatchObject({
      type: "ClusterIP",
      selector: { app: "psvc1" },
      ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
    });
    expect(svc.spec.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    // An update in protobuf takes the same path; bytes that are not protobuf are refused in kube-apiserver's words.
    const protobuf = "application/vnd.kubernetes.protobuf";
    await kubectl(["create", "configmap", "c1", "--from-literal=a=old"]);
    const updated = await http("PUT", "/api/v1/namespaces/default/configmaps/c1", kubectlProtobuf("configMap"), protobuf);
    expect([updated.status, updated.body.data]).toEqual([200, { a: "b" }]);
    const unknownKind = await http("POST", "/api/v1/namespaces/default/configmaps", kubectlProtobuf("priorityClass"), protobuf);
    expect([unknownKind.status, unknownKind.body.message]).toEqual([
      400,
      'PriorityClass in version "v1" cannot be handled as a ConfigMap: no kind "PriorityClass" is registered for version "scheduling.k8s.io/v1"',
    ]);
    const garbage = await http("POST", "/api/v1/namespaces/default/configmaps", '{"kind":"ConfigMap"}', protobuf);
    expect([garbage.status, garbage.body.reason, garbage.body.message]).toEqual([
      400,
      "BadRequest",
      'the object provided is unrecognized (must be of type ConfigMap): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] ({"kind":"ConfigMap"})',
    ]);
    const yaml = await http("POST", "/api/v1/namespaces/default/configmaps", "kind: ConfigMap", "application/yaml");
    expect([yaml.status, yaml.body.message]).toEqual([
      415,
      "the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf",
    ]);
  });
});

/** A protobuf body kubectl v1.32 sent, as captured for the decoder's tests (configMap: `kubectl create configmap c1 --from-literal=a=b …`). */
function kubectlProtobuf(name: string): Uint8Array {
  const bodies = JSON.parse(readFileSync(path.resolve("packages/api/src/kubernetesProtobuf/kubectlBodies.json"), "utf8"));
  return new Uint8Array(Buffer.from(bodies[name].base64 as string, "base64"));
}
