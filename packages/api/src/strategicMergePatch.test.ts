import { describe, expect, it } from "vitest";
import type { JsonObject } from "@bufbuild/protobuf";
import "./kinds/index.js";
import { decodeObject, objectToJson } from "./codec.js";
import type { Deployment } from "./gen/kubelab/apps/v1/apps_pb.js";
import { kindFor } from "./registry.js";
import { applyStrategicMergePatch, StrategicMergePatchError } from "./strategicMergePatch.js";

const podDef = kindFor("v1", "Pod")!;
const deploymentDef = kindFor("apps/v1", "Deployment")!;
const serviceDef = kindFor("v1", "Service")!;
const nodeDef = kindFor("v1", "Node")!;

const patchPod = (original: JsonObject, patch: JsonObject) => applyStrategicMergePatch(podDef, original, patch);

/** A pod with only spec.containers: upstream's `mergingList` (merge key name). */
const containers = (...list: JsonObject[]): JsonObject => ({ spec: { containers: list } });
/** A container: upstream's MergeItem with `value` as image and `other` as workingDir. */
const c = (name: string, image?: string, workingDir?: string): JsonObject => ({
  name,
  ...(image === undefined ? {} : { image }),
  ...(workingDir === undefined ? {} : { workingDir }),
});
/** upstream's `mergingIntList`: metadata.finalizers, a merge list of primitives. */
const finalizers = (...list: string[]): JsonObject => ({ metadata: { finalizers: list } });

function expectPatchError(run: () => unknown, message: string, reason: "BadRequest" | "Invalid" = "BadRequest") {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StrategicMergePatchError);
  expect((err as StrategicMergePatchError).message).toContain(message);
  expect((err as StrategicMergePatchError).reason).toBe(reason);
}

// Cases of k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go (strategicMergePatchRawTestCases,
// customStrategicMergePatchTestCaseData, TestUnknownField), upstream's description first; each applies
// upstream's patch to upstream's current object and expects upstream's result, order included.
describe("merge lists of maps, by merge key (patch_test.go)", () => {
  const cases: Array<{ name: string; original: JsonObject; patch: JsonObject; want: JsonObject }> = [
    {
      name: "merge lists of maps",
      original: containers(c("a", undefined, "x"), c("b", "b", "y")),
      patch: {
        spec: {
          "$setElementOrder/containers": [{ name: "d" }, { name: "a" }, { name: "b" }, { name: "c" }],
          containers: [c("d", "d"), c("c", "c")],
        },
      },
      want: containers(c("d", "d"), c("a", undefined, "x"), c("b", "b", "y"), c("c", "c")),
    },
    {
      name: "add an item in a list and preserve order",
      original: containers(c("a", undefined, "x"), c("b", "b", "y")),
      patch: { spec: { "$setElementOrder/containers": [{ name: "c" }, { name: "a" }, { name: "b" }], containers: [c("c", "c")] } },
      want: containers(c("c", "c"), c("a", undefined, "x"), c("b", "b", "y")),
    },
    {
      name: "add multiple items in a list and preserve order",
      original: containers(c("a", undefined, "x"), c("b", "b", "y")),
      patch: {
        spec: {
          "$setElementOrder/containers": [{ name: "a" }, { name: "d" }, { name: "b" }, { name: "c" }],
          containers: [c("d", "d"), c("c", "c")],
        },
      },
      want: containers(c("a", undefined, "x"), c("d", "d"), c("b", "b", "y"), c("c", "c")),
    },
    {
      name: "delete an item in a list and preserve order",
      original: containers(c("a", undefined, "x"), c("b", "b", "y"), c("c", "c")),
      patch: { spec: { "$setElementOrder/containers": [{ name: "b" }, { name: "a" }], containers: [{ name: "c", $patch: "delete" }] } },
      want: containers(c("b", "b", "y"), c("a", undefined, "x")),
    },
    {
      name: "change an item in a list and preserve order",
      original: containers(c("a", undefined, "x"), c("b", "b", "y"), c("c", "c")),
      patch: { spec: { "$setElementOrder/containers": [{ name: "b" }, { name: "c" }, { name: "a" }], containers: [c("c", "x2")] } },
      want: containers(c("b", "b", "y"), c("c", "x2"), c("a", undefined, "x")),
    },
    {
      name: "add and delete an item in a list and preserve order",
      original: containers(c("a", undefined, "x"), c("b", "b", "y"), c("c", "c")),
      patch: {
        spec: {
          "$setElementOrder/containers": [{ name: "d" }, { name: "b" }, { name: "a" }],
          containers: [c("d", "d"), { name: "c", $patch: "delete" }],
        },
      },
      want: containers(c("d", "d"), c("b", "b", "y"), c("a", undefined, "x")),
    },
    {
      name: "set elements order in a list with server-only items 3",
      original: containers(c("a", undefined, "x"), c("b", "b"), c("g"), c("i"), c("h"), c("c", "c"), c("d", "d")),
      patch: { spec: { "$setElementOrder/containers": [{ name: "b" }, { name: "a" }, { name: "d" }, { name: "c" }] } },
      want: containers(c("b", "b"), c("a", undefined, "x"), c("g"), c("i"), c("h"), c("d", "d"), c("c", "c")),
    },
    {
      name: "behavior of set element order for a merging list with duplicate",
      original: containers(c("a"), c("b", "dup1"), c("c"), c("b", "dup2"), c("d")),
      patch: { spec: { "$setElementOrder/containers": [{ name: "b" }, { name: "a" }, { name: "d" }, { name: "c" }, { name: "b" }] } },
      want: containers(c("b", "dup1"), c("b", "dup2"), c("a"), c("d"), c("c")),
    },
    {
      name: "$setElementOrder contains item that is not present in the list to be merged",
      original: containers(c("a"), c("c")),
      patch: {
        spec: { "$setElementOrder/containers": [{ name: "c" }, { name: "b" }, { name: "a" }], containers: [c("c", "c"), c("a", "a")] },
      },
      want: containers(c("c", "c"), c("a", "a")),
    },
    {
      name: "replace non merging list nested in merging list",
      original: containers(
        { name: "a", workingDir: "x", envFrom: [{ prefix: "A_" }, { prefix: "B_", configMapRef: { name: "b" } }] },
        c("b", undefined, "y"),
      ),
      patch: {
        spec: {
          "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
          containers: [{ name: "a", envFrom: [{ prefix: "A_", configMapRef: { name: "a" } }] }],
        },
      },
      want: containers({ name: "a", workingDir: "x", envFrom: [{ prefix: "A_", configMapRef: { name: "a" } }] }, c("b", undefined, "y")),
    },
    {
      name: "delete and reorder in one list, reorder in another",
      original: { spec: { containers: [c("a", "a"), c("b", "b")], initContainers: [c("c", "c"), c("d", "d")] } },
      patch: {
        spec: {
          "$setElementOrder/containers": [{ name: "b" }],
          "$setElementOrder/initContainers": [{ name: "d" }, { name: "c" }],
          containers: [{ $patch: "delete", name: "a" }],
        },
      },
      want: { spec: { containers: [c("b", "b")], initContainers: [c("d", "d"), c("c", "c")] } },
    },
    {
      name: "delete all duplicate entries in a merging list",
      original: containers(c("a"), c("a"), c("b", "b"), c("c"), c("c")),
      patch: containers({ name: "a", $patch: "delete" }, { name: "c", $patch: "delete" }),
      want: containers(c("b", "b")),
    },
    {
      name: "delete all maps from merging list",
      original: containers(c("a"), c("b")),
      patch: containers({ $patch: "replace" }),
      want: containers(),
    },
    {
      name: "preserve the order from the patch in a merging list 2",
      original: containers(c("a"), c("b", "b"), c("c")),
      patch: containers(c("c", "c"), c("a", "a")),
      want: containers(c("b", "b"), c("c", "c"), c("a", "a")),
    },
  ];
  it.each(cases)("$name", ({ original, patch, want }) => {
    expect(patchPod(original, patch)).toEqual(want);
  });

  it("puts an element new to the list before the original's without $setElementOrder, as upstream's mergeSortedSlice does", () => {
    expect(patchPod(containers(c("a"), c("b")), containers(c("z", "z")))).toEqual(containers(c("z", "z"), c("a"), c("b")));
    // After the patch elements the original has too, and before the original's that follow them.
    expect(patchPod(containers(c("a"), c("b"), c("c")), containers(c("b", "b2"), c("z", "z")))).toEqual(
      containers(c("a"), c("b", "b2"), c("z", "z"), c("c")),
    );
  });

  it("takes `$patch: replace` in a list as the whole list, the patch's other elements in their order", () => {
    expect(patchPod(containers(c("a", "a"), c("b", "b")), containers(c("y", "y"), { $patch: "replace" }, c("x", "x")))).toEqual(
      containers(c("y", "y"), c("x", "x")),
    );
  });
});

describe("merge lists of primitives (patch_test.go)", () => {
  const cases: Array<{ name: string; original: JsonObject; patch: JsonObject; want: JsonObject }> = [
    {
      name: "unique scalars when merging lists",
      original: finalizers("a", "b"),
      patch: finalizers("b", "c"),
      want: finalizers("a", "b", "c"),
    },
    {
      name: "preserve the order from the patch in a merging int list",
      original: finalizers("a", "b", "c"),
      patch: finalizers("c", "a"),
      want: finalizers("b", "c", "a"),
    },
    {
      name: "delete items in lists of scalars",
      original: finalizers("a", "b", "c", "d"),
      patch: { metadata: { "$setElementOrder/finalizers": ["a", "b"], "$deleteFromPrimitiveList/finalizers": ["c"] } },
      want: finalizers("a", "b", "d"),
    },
    {
      name: "delete all duplicate items in lists of scalars",
      original: finalizers("a", "b", "c", "c", "d"),
      patch: { metadata: { "$setElementOrder/finalizers": ["a", "b"], "$deleteFromPrimitiveList/finalizers": ["c"] } },
      want: finalizers("a", "b", "d"),
    },
    {
      name: "add and delete items in lists of scalars",
      original: finalizers("a", "b", "c"),
      patch: {
        metadata: { "$setElementOrder/finalizers": ["a", "b", "d"], "$deleteFromPrimitiveList/finalizers": ["c"], finalizers: ["d"] },
      },
      want: finalizers("a", "b", "d"),
    },
    {
      name: "behavior of set element order for a merging int list with duplicate",
      original: finalizers("a", "b", "c", "b", "d"),
      patch: { metadata: { "$setElementOrder/finalizers": ["b", "a", "d", "c", "b"] } },
      want: finalizers("b", "b", "a", "d", "c"),
    },
    {
      name: "$setElementOrder contains item that is not present in the int list to be merged",
      original: finalizers("a", "c"),
      patch: { metadata: { "$setElementOrder/finalizers": ["c", "b", "a"] } },
      want: finalizers("c", "a"),
    },
    {
      name: "$deleteFromPrimitiveList of nonexistent item in primitive list should not add the item to the list",
      original: finalizers("a", "b"),
      patch: { metadata: { "$deleteFromPrimitiveList/finalizers": ["c"] } },
      want: finalizers("a", "b"),
    },
    {
      name: "$deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list",
      original: { metadata: { name: "p" } },
      patch: { metadata: { "$deleteFromPrimitiveList/finalizers": ["c"] } },
      want: { metadata: { name: "p" } },
    },
    {
      name: "$deleteFromPrimitiveList should delete item from a list without merge patch strategy",
      original: containers({ name: "a", args: ["1", "2", "3"] }),
      patch: { spec: { containers: [{ name: "a", "$deleteFromPrimitiveList/args": ["2"] }] } },
      want: containers({ name: "a", args: ["1", "3"] }),
    },
  ];
  it.each(cases)("$name", ({ original, patch, want }) => {
    expect(patchPod(original, patch)).toEqual(want);
  });

  it("replaces a list of primitives that has no strategy (args, podCIDRs of a node do merge)", () => {
    expect(patchPod(containers({ name: "a", args: ["1", "2"] }), containers({ name: "a", args: ["3"] }))).toEqual(
      containers({ name: "a", args: ["3"] }),
    );
    expect(applyStrategicMergePatch(nodeDef, { spec: { podCIDRs: ["10.0.0.0/24"] } }, { spec: { podCIDRs: ["fd00::/64"] } })).toEqual({
      spec: { podCIDRs: ["fd00::/64", "10.0.0.0/24"] },
    });
  });
});

describe("maps and the $patch directive in maps (patch_test.go)", () => {
  it("merges maps key by key, and null deletes a key", () => {
    const original = { metadata: { name: "p", labels: { app: "web", tier: "front" }, annotations: { a: "1" } } };
    expect(patchPod(original, { metadata: { labels: { tier: null, track: "stable" }, annotations: { b: "2" } } })).toEqual({
      metadata: { name: "p", labels: { app: "web", track: "stable" }, annotations: { a: "1", b: "2" } },
    });
  });

  it("delete map from nested map: `$patch: delete` leaves it empty", () => {
    expect(patchPod({ metadata: { labels: { a: "1", b: "2" } } }, { metadata: { labels: { $patch: "delete" } } })).toEqual({
      metadata: { labels: {} },
    });
  });

  it("add key and delete all keys from map: `$patch: replace` takes the patch's map", () => {
    expect(patchPod({ spec: { nodeSelector: { a: "1", b: "2" } } }, { spec: { nodeSelector: { c: "3", $patch: "replace" } } })).toEqual({
      spec: { nodeSelector: { c: "3" } },
    });
  });

  it("drops a `$patch` map the original does not have", () => {
    expect(patchPod({ spec: {} }, { spec: { nodeSelector: { $patch: "delete" }, hostname: "h" } })).toEqual({ spec: { hostname: "h" } });
  });

  it("merges nested messages, a resources map included", () => {
    const original = containers({ name: "a", resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } } });
    expect(patchPod(original, containers({ name: "a", resources: { limits: { cpu: "2" } } }))).toEqual(
      containers({ name: "a", resources: { limits: { cpu: "2", memory: "1Gi" }, requests: { cpu: "500m" } } }),
    );
  });
});

describe("null values (TestUnknownField)", () => {
  it("discard nulls in nested and adds not nulls", () => {
    expect(patchPod(containers(c("a")), containers({ name: "a", securityContext: { runAsUser: 1, runAsGroup: null } }))).toEqual(
      containers({ name: "a", securityContext: { runAsUser: 1 } }),
    );
  });

  it("filter nulls from nested slices", () => {
    expect(patchPod({ spec: {} }, { spec: { tolerations: [{ key: "k", value: null }] } })).toEqual({
      spec: { tolerations: [{ key: "k" }] },
    });
  });

  it("drops a null for a key the original lacks", () => {
    expect(patchPod({ spec: { hostname: "h" } }, { spec: { subdomain: null } })).toEqual({ spec: { hostname: "h" } });
  });

  it("diff: a field the schema lacks, in original and patch both, is upstream's lookup error", () => {
    expectPatchError(
      () => patchPod({ spec: { complex: { nested: true } } }, { spec: { complex: { nested: false } } }),
      'unable to find api field in struct PodSpec for the json field "complex"',
    );
  });

  it("copies an unknown field the original lacks, for decoding to refuse", () => {
    const original = objectToJson(
      decodeObject({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [c("a", "x")] } }).obj,
    );
    const patched = patchPod(original, { spec: { complex: { nested: true } } });
    expect(patched.spec).toMatchObject({ complex: { nested: true } });
    expect(() => decodeObject(patched)).toThrow('unknown field "spec.complex"');
  });
});

describe("retainKeys (patch_test.go)", () => {
  const deployment = (strategy: JsonObject): JsonObject => ({ spec: { strategy } });
  const patchDeployment = (original: JsonObject, patch: JsonObject) => applyStrategicMergePatch(deploymentDef, original, patch);

  it("retainKeys map should clear defaulted field with conflict (discriminated union)", () => {
    expect(
      patchDeployment(
        deployment({ type: "RollingUpdate", rollingUpdate: { maxSurge: "25%" } }),
        deployment({ $retainKeys: ["type"], type: "Recreate" }),
      ),
    ).toEqual(deployment({ type: "Recreate" }));
  });

  it("retainKeys map deletes a field", () => {
    expect(
      patchDeployment(
        deployment({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } }),
        deployment({ $retainKeys: ["type"], rollingUpdate: null }),
      ),
    ).toEqual(deployment({ type: "RollingUpdate" }));
  });

  it("retainKeys map can add a field when no retainKeys directive present", () => {
    expect(patchDeployment(deployment({ type: "RollingUpdate" }), deployment({ rollingUpdate: { maxSurge: 2 } }))).toEqual(
      deployment({ type: "RollingUpdate", rollingUpdate: { maxSurge: 2 } }),
    );
  });

  it("retainKeys list of maps clears a field (a volume changing its source)", () => {
    const original: JsonObject = {
      spec: {
        volumes: [
          { name: "bar", emptyDir: {} },
          { name: "foo", emptyDir: { medium: "Memory" }, hostPath: { path: "/x" } },
        ],
      },
    };
    const patch = {
      spec: {
        "$setElementOrder/volumes": [{ name: "bar" }, { name: "foo" }],
        volumes: [{ $retainKeys: ["configMap", "name"], name: "foo", configMap: { name: "cm" } }],
      },
    };
    expect(patchPod(original, patch)).toEqual({
      spec: {
        volumes: [
          { name: "bar", emptyDir: {} },
          { name: "foo", configMap: { name: "cm" } },
        ],
      },
    });
  });

  it("refuses a patch key the $retainKeys list does not name", () => {
    expectPatchError(
      () => patchDeployment(deployment({ type: "RollingUpdate" }), deployment({ $retainKeys: ["type"], rollingUpdate: { maxSurge: 1 } })),
      "invalid patch format of retainKeys",
    );
  });
});

describe("atomic values", () => {
  it("replaces an IntOrString (google.protobuf.Value) whole, of either type", () => {
    const original = { spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } } } };
    expect(
      applyStrategicMergePatch(deploymentDef, original, { spec: { strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: "10%" } } } }),
    ).toEqual({
      spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "10%" } } },
    });
  });

  it("replaces a list without a strategy whole: tolerations, taints", () => {
    expect(patchPod({ spec: { tolerations: [{ key: "a" }, { key: "b" }] } }, { spec: { tolerations: [{ key: "c" }] } })).toEqual({
      spec: { tolerations: [{ key: "c" }] },
    });
    const taint = { key: "k", effect: "NoSchedule" };
    expect(applyStrategicMergePatch(nodeDef, { spec: { taints: [taint] } }, { spec: { taints: [] } })).toEqual({ spec: { taints: [] } });
  });
});

describe("errors, with upstream's words", () => {
  it("missing merge key should error out", () => {
    expectPatchError(
      () => patchPod(containers(c("a", "x")), containers({ image: "b" })),
      "map: map[image:b] does not contain declared merge key: name",
    );
  });

  it("should check if order in $setElementOrder and patch list match", () => {
    expectPatchError(
      () =>
        patchPod(containers(c("a"), c("c"), c("b")), {
          spec: { "$setElementOrder/containers": [{ name: "a" }, { name: "b" }, { name: "c" }], containers: [c("c", "c"), c("a", "a")] },
        }),
      "doesn't match $setElementOrder list",
    );
  });

  it("refuses `$patch: merge`, in a map and in a list, as upstream does", () => {
    expectPatchError(
      () => patchPod({ spec: { nodeSelector: { a: "1" } } }, { spec: { nodeSelector: { $patch: "merge" } } }),
      "unknown patch type: merge in map: map[$patch:merge]",
    );
    expectPatchError(
      () => patchPod(containers(c("a")), containers({ $patch: "merge" })),
      "merging lists cannot yet be specified in the patch",
    );
  });

  it("refuses an unknown $patch value in a list element", () => {
    expectPatchError(
      () => patchPod(containers(c("a")), containers({ name: "a", $patch: "keep" })),
      "unknown patch type: keep in map: map[$patch:keep name:a]",
    );
  });

  it("refuses a list of lists as Invalid", () => {
    expectPatchError(() => patchPod(finalizers("a"), { metadata: { finalizers: [["b"]] } }), "list element types are not identical");
    expectPatchError(
      () => patchPod({ metadata: { finalizers: [["a"]] } }, { metadata: { finalizers: ["b"] } }),
      "lists of lists are not supported",
      "Invalid",
    );
  });

  it("refuses malformed directive keys and values", () => {
    expectPatchError(
      () => patchPod(finalizers("a"), { metadata: { $deleteFromPrimitiveList: ["a"] } }),
      "invalid patch format of primitive list",
    );
    expectPatchError(
      () => patchPod(finalizers("a"), { metadata: { $setElementOrderX: ["a"] } }),
      "invalid patch format of setElementOrder list",
    );
    expectPatchError(
      () => patchPod(finalizers("a"), { metadata: { "$setElementOrder/finalizers": "a" } }),
      "expected a []interface {}, but received a string",
    );
    expectPatchError(() => patchPod(finalizers("a"), { metadata: { $retainKeys: "name" } }), "invalid patch format of retainKeys");
  });

  it("is a StrategicMergePatchError, for a caller to answer BadRequest", () => {
    const err = new StrategicMergePatchError("x");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("StrategicMergePatchError");
    expect(err.reason).toBe("BadRequest");
  });
});

// What kubectl apply (a three-way patch with $setElementOrder and $retainKeys) and kubectl patch send.
describe("kubectl's patches", () => {
  const deploymentJson = () =>
    objectToJson(
      decodeObject({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "default", labels: { app: "web" } },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "web" } },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              containers: [
                {
                  name: "web",
                  image: "nginx:1.25",
                  ports: [
                    { name: "http", containerPort: 80 },
                    { name: "metrics", containerPort: 9090 },
                  ],
                  env: [
                    { name: "A", value: "1" },
                    { name: "B", value: "2" },
                  ],
                },
                { name: "sidecar", image: "busybox", args: ["sleep", "3600"] },
              ],
            },
          },
        },
      }).obj,
    );
  const decodeDeployment = (json: JsonObject) => decodeObject(json).obj as Deployment;

  it("changes one container's image in a Deployment's template, every other field and container kept", () => {
    const original = deploymentJson();
    const patched = applyStrategicMergePatch(deploymentDef, original, {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
            containers: [{ name: "web", image: "nginx:1.27" }],
          },
        },
      },
    });
    expect(patched).toEqual(JSON.parse(JSON.stringify(original).replace('"nginx:1.25"', '"nginx:1.27"')));
    expect(decodeDeployment(patched).spec!.template!.spec!.containers.map((x) => x.image)).toEqual(["nginx:1.27", "busybox"]);
  });

  it("changes the image the way `kubectl patch` sends it, without $setElementOrder, the order kept", () => {
    const patched = applyStrategicMergePatch(deploymentDef, deploymentJson(), {
      spec: { template: { spec: { containers: [{ name: "sidecar", image: "busybox:1.36" }] } } },
    });
    expect(decodeDeployment(patched).spec!.template!.spec!.containers.map((x) => `${x.name}=${x.image}`)).toEqual([
      "web=nginx:1.25",
      "sidecar=busybox:1.36",
    ]);
  });

  it("adds an env var by name: at the end with kubectl apply's $setElementOrder, first without it", () => {
    const envOf = (json: JsonObject) => decodeDeployment(json).spec!.template!.spec!.containers[0].env.map((e) => `${e.name}=${e.value}`);
    const applied = applyStrategicMergePatch(deploymentDef, deploymentJson(), {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
            containers: [
              { name: "web", "$setElementOrder/env": [{ name: "A" }, { name: "B" }, { name: "C" }], env: [{ name: "C", value: "3" }] },
            ],
          },
        },
      },
    });
    expect(envOf(applied)).toEqual(["A=1", "B=2", "C=3"]);
    const patched = applyStrategicMergePatch(deploymentDef, deploymentJson(), {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "web",
                env: [
                  { name: "C", value: "3" },
                  { name: "A", value: "one" },
                ],
              },
            ],
          },
        },
      },
    });
    expect(envOf(patched)).toEqual(["C=3", "A=one", "B=2"]);
  });

  it("removes a port by `$patch: delete` on its containerPort", () => {
    const patched = applyStrategicMergePatch(deploymentDef, deploymentJson(), {
      spec: { template: { spec: { containers: [{ name: "web", ports: [{ containerPort: 9090, $patch: "delete" }] }] } } },
    });
    const web = decodeDeployment(patched).spec!.template!.spec!.containers[0];
    expect(web.ports.map((p) => p.name)).toEqual(["http"]);
    expect(web.env.map((e) => e.name)).toEqual(["A", "B"]);
  });

  it("switches the strategy to Recreate with $retainKeys, dropping rollingUpdate", () => {
    const patched = applyStrategicMergePatch(deploymentDef, deploymentJson(), {
      spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } },
    });
    const d = decodeDeployment(patched);
    expect(d.spec!.strategy!.type).toBe("Recreate");
    expect(d.spec!.strategy!.rollingUpdate).toBeUndefined();
    expect(d.spec!.replicas).toBe(3);
  });

  it("merges a Service's ports by port, and deletes one", () => {
    const original = {
      spec: {
        ports: [
          { name: "http", port: 80, targetPort: 8080 },
          { name: "https", port: 443, targetPort: "https" },
        ],
      },
    };
    expect(
      applyStrategicMergePatch(serviceDef, original, {
        spec: {
          ports: [
            { port: 80, targetPort: "http" },
            { port: 443, $patch: "delete" },
          ],
        },
      }),
    ).toEqual({ spec: { ports: [{ name: "http", port: 80, targetPort: "http" }] } });
  });

  it("merges ownerReferences by uid and finalizers as a set", () => {
    const original = { metadata: { ownerReferences: [{ uid: "1", name: "a", kind: "ReplicaSet" }], finalizers: ["x"] } };
    expect(
      patchPod(original, {
        metadata: {
          ownerReferences: [
            { uid: "1", controller: true },
            { uid: "2", name: "b", kind: "ReplicaSet" },
          ],
          finalizers: ["x", "y"],
        },
      }),
    ).toEqual({
      metadata: {
        ownerReferences: [
          { uid: "1", name: "a", kind: "ReplicaSet", controller: true },
          { uid: "2", name: "b", kind: "ReplicaSet" },
        ],
        finalizers: ["x", "y"],
      },
    });
  });
});

describe("purity", () => {
  it("changes neither input and shares nothing with them", () => {
    const deepFreeze = <T>(o: T): T => {
      if (typeof o === "object" && o !== null) {
        for (const v of Object.values(o)) deepFreeze(v);
        Object.freeze(o);
      }
      return o;
    };
    const original = deepFreeze(containers(c("a", "x"), c("b", "y")));
    const patch = deepFreeze({
      spec: {
        "$setElementOrder/containers": [{ name: "b" }, { name: "a" }, { name: "z" }],
        containers: [{ name: "a", $retainKeys: ["name"] }, c("z", "z")],
      },
    });
    const out = patchPod(original, patch);
    expect(out).toEqual(containers(c("b", "y"), c("a"), c("z", "z")));
    const outContainers = (out.spec as JsonObject).containers as JsonObject[];
    outContainers[0].image = "changed";
    outContainers[2].image = "changed";
    expect(original).toEqual(containers(c("a", "x"), c("b", "y")));
    expect(((patch.spec as JsonObject).containers as JsonObject[])[1]).toEqual(c("z", "z"));
  });

  it("keeps a __proto__ key as a field", () => {
    const out = patchPod({ spec: {} }, JSON.parse('{"spec":{"__proto__":{"hostname":"h"}}}'));
    expect(Object.getPrototypeOf(out.spec)).toBe(Object.prototype);
    expect(Object.keys(out.spec as object)).toEqual(["__proto__"]);
  });
});
