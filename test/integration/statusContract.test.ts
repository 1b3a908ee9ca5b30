import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningApiServer } from "@kubelab/apiserver";
import type { ApiClient } from "@kubelab/client";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";
import { kubectlPath, kubectlWith, noteMissingKubectl, writePlainKubeconfig } from "../support/kubectl.js";

// Contract tests of Kubernetes' HTTP API: for the common mistakes, the whole Status body is the one
// kube-apiserver v1.32 answers, so kubectl prints the same words here as against a real cluster.
// Each expected body is written from Kubernetes' source, named beside it (k8s.io/apimachinery
// pkg/api/errors for NotFound/AlreadyExists/Conflict/Invalid, apiserver's endpoints/handlers for
// decoding errors, pkg/apis/*/validation for the field messages). Then the write options
// (dryRun, fieldValidation) as kube-apiserver treats them, with the real kubectl when there is one.

const RFC1123_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUANTITY = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const failure = (message: string, reason: string, code: number, details?: Record<string, unknown>) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  ...(details && { details }),
  code,
});

const configMap = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  ...extra,
});
const deployment = (name: string, spec: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: "a" } },
    template: {
      metadata: { labels: { app: "a", x: "y" } },
      spec: { containers: [{ name: "c", image: "busybox", ...container }] },
    },
    ...spec,
  },
});

noteMissingKubectl("statusContract.test.ts");

describe("Status bodies for common mistakes, as kube-apiserver v1.32 writes them", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let base: string;
  let kubeconfig: string;

  const http = async (method: string, url: string, body?: unknown, contentType = "application/json") => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: body === undefined ? {} : { "content-type": contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  const kubectl = kubectlWith(() => kubeconfig);

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    base = `http://127.0.0.1:${server.httpPort}`;
    kubeconfig = writePlainKubeconfig(base);
    expect((await http("POST", "/api/v1/namespaces/default/configmaps", configMap("taken"))).status).toBe(201);
    expect(
      (await http("POST", "/api/v1/namespaces/default/configmaps", configMap("frozen", { immutable: true, data: { a: "1" } }))).status,
    ).toBe(201);
    expect((await http("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("web"))).status).toBe(201);
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("an unknown field under fieldValidation=Strict (handlers/create.go transformDecodeError, a strict decoding error)", async () => {
    const top = await http("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", configMap("x", { dta: { a: "1" } }));
    expect(top.status).toBe(400);
    expect(top.body).toEqual(
      failure('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"', "BadRequest", 400),
    );
    const nested = await http(
      "POST",
      "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict",
      deployment("x", {}, { imagee: "nginx" }),
    );
    expect(nested.body).toEqual(
      failure(
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagee"',
        "BadRequest",
        400,
      ),
    );
  });

  it("a bad quantity (resource.Quantity's UnmarshalJSON fails the decoding: ErrFormatWrong, no field named)", async () => {
    const res = await http("POST", "/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "q" },
      spec: { containers: [{ name: "c", image: "busybox", resources: { limits: { cpu: "abc" } } }] },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(failure(`Pod in version "v1" cannot be handled as a Pod: ${QUANTITY}`, "BadRequest", 400));
  });

  it("an invalid name, in the core group and in apps (errors.NewInvalid: the GroupKind qualified, causes per field)", async () => {
    const cm = await http("POST", "/api/v1/namespaces/default/configmaps", configMap("Bad_Name"));
    expect(cm.status).toBe(422);
    expect(cm.body).toEqual(
      failure(`ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${RFC1123_SUBDOMAIN}`, "Invalid", 422, {
        name: "Bad_Name",
        kind: "ConfigMap",
        causes: [{ reason: "FieldValueInvalid", message: `Invalid value: "Bad_Name": ${RFC1123_SUBDOMAIN}`, field: "metadata.name" }],
      }),
    );
    const deploy = await http("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("Bad_Name", { replicas: -1 }));
    expect(deploy.body).toEqual(
      failure(
        `Deployment.apps "Bad_Name" is invalid: [metadata.name: Invalid value: "Bad_Name": ${RFC1123_SUBDOMAIN}, spec.replicas: Invalid value: -1: must be greater than or equal to 0]`,
        "Invalid",
        422,
        {
          name: "Bad_Name",
          group: "apps",
          kind: "Deployment",
          causes: [
            { reason: "FieldValueInvalid", message: `Invalid value: "Bad_Name": ${RFC1123_SUBDOMAIN}`, field: "metadata.name" },
            { reason: "FieldValueInvalid", message: "Invalid value: -1: must be greater than or equal to 0", field: "spec.replicas" },
          ],
        },
      ),
    );
  });

  it("a conflict: a stale resourceVersion, and a failed precondition (errors.NewConflict)", async () => {
    const stale = await http("PUT", "/api/v1/namespaces/default/configmaps/taken", {
      ...configMap("taken", { data: { b: "2" } }),
      metadata: { name: "taken", resourceVersion: "1" },
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toEqual(
      failure(
        'Operation cannot be fulfilled on configmaps "taken": the object has been modified; please apply your changes to the latest version and try again',
        "Conflict",
        409,
        { name: "taken", kind: "configmaps" },
      ),
    );
    const uid = ((await http("GET", "/api/v1/namespaces/default/configmaps/taken")).body.metadata as { uid: string }).uid;
    const pre = await http("DELETE", "/api/v1/namespaces/default/configmaps/taken", { preconditions: { uid: "not-it" } });
    expect(pre.body).toEqual(
      failure(
        `Operation cannot be fulfilled on configmaps "taken": Precondition failed: UID in precondition: not-it, UID in object meta: ${uid}`,
        "Conflict",
        409,
        { name: "taken", kind: "configmaps" },
      ),
    );
  });

  it("a name that is taken (errors.NewAlreadyExists)", async () => {
    const res = await http("POST", "/api/v1/namespaces/default/configmaps", configMap("taken"));
    expect(res.body).toEqual(failure('configmaps "taken" already exists', "AlreadyExists", 409, { name: "taken", kind: "configmaps" }));
  });

  it("a missing object, and a missing namespace (errors.NewNotFound: the group-qualified resource)", async () => {
    const missing = await http("GET", "/apis/apps/v1/namespaces/default/deployments/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual(
      failure('deployments.apps "nope" not found', "NotFound", 404, { name: "nope", group: "apps", kind: "deployments" }),
    );
    const noNamespace = await http("POST", "/api/v1/namespaces/nowhere/configmaps", configMap("x"));
    expect(noNamespace.body).toEqual(failure('namespaces "nowhere" not found', "NotFound", 404, { name: "nowhere", kind: "namespaces" }));
  });

  it("an immutable field: an immutable ConfigMap's data, a Deployment's selector (ValidateImmutableField prints the value with %#v)", async () => {
    const data = await http("PATCH", "/api/v1/namespaces/default/configmaps/frozen", { data: { a: "2" } }, "application/merge-patch+json");
    expect(data.status).toBe(422);
    expect(data.body).toEqual(
      failure('ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set', "Invalid", 422, {
        name: "frozen",
        kind: "ConfigMap",
        causes: [{ reason: "FieldValueForbidden", message: "Forbidden: field is immutable when `immutable` is set", field: "data" }],
      }),
    );
    const selector = await http(
      "PATCH",
      "/apis/apps/v1/namespaces/default/deployments/web",
      { spec: { selector: { matchLabels: { app: "a", x: "y" } } } },
      "application/merge-patch+json",
    );
    const value =
      'v1.LabelSelector{MatchLabels:map[string]string{"app":"a", "x":"y"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}';
    expect(selector.body).toEqual(
      failure(`Deployment.apps "web" is invalid: spec.selector: Invalid value: ${value}: field is immutable`, "Invalid", 422, {
        name: "web",
        group: "apps",
        kind: "Deployment",
        causes: [{ reason: "FieldValueInvalid", message: `Invalid value: ${value}: field is immutable`, field: "spec.selector" }],
      }),
    );
  });

  it("a write option out of range (ValidateCreateOptions: the options' own GroupKind, no name)", async () => {
    const res = await http("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Loose", configMap("x"));
    const unsupported = 'Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"';
    expect(res.body).toEqual(
      failure(`CreateOptions.meta.k8s.io "" is invalid: fieldValidation: ${unsupported}`, "Invalid", 422, {
        group: "meta.k8s.io",
        kind: "CreateOptions",
        causes: [{ reason: "FieldValueNotSupported", message: unsupported, field: "fieldValidation" }],
      }),
    );
  });

  describe("write options", () => {
    it("fieldValidation: Warn by default (the unknown field dropped, a Warning header for it), Ignore drops it silently", async () => {
      const warned = await http(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        configMap("warned", { dta: { a: "1" }, data: { b: "2" } }),
      );
      expect(warned.status).toBe(201);
      expect(warned.headers.get("warning")).toBe('299 - "unknown field \\"dta\\""');
      expect(warned.body).not.toHaveProperty("dta");
      expect(warned.body.data).toEqual({ b: "2" });
      const ignored = await http("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", configMap("ignored", { dta: {} }));
      expect(ignored.status).toBe(201);
      expect(ignored.headers.get("warning")).toBeNull();
      const patched = await http(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/warned",
        { dta: 1, data: { c: "3" } },
        "application/merge-patch+json",
      );
      expect(patched.status).toBe(200);
      expect(patched.headers.get("warning")).toBe('299 - "unknown field \\"dta\\""');
      expect(patched.body.data).toEqual({ b: "2", c: "3" });
      const strictPatch = await http(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/warned?fieldValidation=Strict",
        { dta: 1 },
        "application/merge-patch+json",
      );
      expect(strictPatch.body).toEqual(
        failure(
          'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"',
          "BadRequest",
          400,
        ),
      );
    });

    it("dryRun=All: create, update, patch and delete answer as they would and change nothing", async () => {
      const created = await http("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", configMap("dry", { data: { a: "1" } }));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ metadata: { name: "dry", namespace: "default" }, data: { a: "1" } });
      expect((await http("GET", "/api/v1/namespaces/default/configmaps/dry")).status).toBe(404);
      expect((await http("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", configMap("taken"))).status).toBe(409);
      const invalid = await http("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", configMap("Bad_Name"));
      expect(invalid.status).toBe(422);

      const before = (await http("GET", "/apis/apps/v1/namespaces/default/deployments/web")).body;
      const patched = await http(
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web?dryRun=All",
        { spec: { replicas: 5 } },
        "application/merge-patch+json",
      );
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ spec: { replicas: 5 }, metadata: { generation: 2 } });
      const after = (await http("GET", "/apis/apps/v1/namespaces/default/deployments/web")).body;
      expect(after).toEqual(before);
      const scaled = await http(
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web/scale?dryRun=All",
        { spec: { replicas: 7 } },
        "application/merge-patch+json",
      );
      expect(scaled.body).toMatchObject({ spec: { replicas: 7 } });
      expect((await http("GET", "/apis/apps/v1/namespaces/default/deployments/web")).body).toEqual(before);

      const deleted = await http("DELETE", "/apis/apps/v1/namespaces/default/deployments/web?dryRun=All");
      expect(deleted.status).toBe(200);
      expect((await http("GET", "/apis/apps/v1/namespaces/default/deployments/web")).status).toBe(200);
      const badDryRun = await http("DELETE", "/apis/apps/v1/namespaces/default/deployments/web?dryRun=Yes");
      expect(badDryRun.status).toBe(422);
      expect(badDryRun.body.message).toBe(
        'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Yes"}: supported values: "All"',
      );
    });

    it.skipIf(!kubectlPath)("kubectl apply --dry-run=server and kubectl diff, which patch with dryRun=All", async () => {
      const manifest = (image: string) =>
        JSON.stringify({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "differ" },
          spec: { containers: [{ name: "c", image }] },
        });
      const dry = await kubectl(["apply", "--dry-run=server", "-f", "-"], manifest("busybox:1"));
      expect(dry.stdout.trim(), dry.stderr).toBe("pod/differ created (server dry run)");
      expect((await kubectl(["get", "pod", "differ"])).stderr).toContain('pods "differ" not found');
      expect((await kubectl(["apply", "-f", "-"], manifest("busybox:1"))).code).toBe(0);
      const same = await kubectl(["diff", "-f", "-"], manifest("busybox:1"));
      expect(same.code, same.stderr).toBe(0);
      const changed = await kubectl(["diff", "-f", "-"], manifest("busybox:2"));
      // kubectl diff exits 1 when there are differences.
      expect(changed.code, changed.stderr).toBe(1);
      expect(changed.stdout).toMatch(/^-\s+- image: busybox:1$/m);
      expect(changed.stdout).toMatch(/^\+\s+- image: busybox:2$/m);
      const pod = await kubectl(["get", "pod", "differ", "-o", "jsonpath={.spec.containers[0].image}"]);
      expect(pod.stdout).toBe("busybox:1");
      const warn = await kubectl(
        ["apply", "--validate=warn", "-f", "-"],
        manifest("busybox:1").replace('"name":"c"', '"name":"c","imagee":"x"'),
      );
      expect(warn.stderr).toContain('unknown field "spec.containers[0].imagee"');
    });
  });
});
