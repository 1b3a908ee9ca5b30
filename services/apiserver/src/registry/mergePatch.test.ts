import { describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { decodeObject, kindFor, objectToJson, type ConfigMap, type KindDefinition, type KubeObject, type Pod } from "@kubelab/api";
import { ApiError } from "@kubelab/api";
import { applyMergePatch, decodePatched, parseMergePatch, pinnedResourceVersion } from "./mergePatch.js";
import { objectFilter } from "./selectors.js";
import { storageKey, prefixEnd, resourceOfKey, resourcePrefix } from "../storage/keys.js";

/** A merge patch of an object, as the object service applies one. */
const patchObject = (def: KindDefinition, obj: KubeObject, patch: Record<string, unknown>) =>
  decodePatched(def, applyMergePatch(objectToJson(obj), patch));
const cmDef = kindFor("v1", "ConfigMap")!;
const podDef = kindFor("v1", "Pod")!;
const cm = decodeObject({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "c", namespace: "default", labels: { a: "1", b: "2" } },
  data: { x: "1", y: "2" },
}).obj;

describe("JSON merge patch (RFC 7396) on objects", () => {
  it("merges maps, deletes with null, replaces lists", () => {
    const out = patchObject(cmDef, cm, { metadata: { labels: { b: null, c: "3" } }, data: { x: "9" } }) as ConfigMap;
    expect(out.metadata!.labels).toEqual({ a: "1", c: "3" });
    expect(out.data).toEqual({ x: "9", y: "2" });
    const pod = decodeObject({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: {
        containers: [
          { name: "a", image: "x" },
          { name: "b", image: "y" },
        ],
      },
    }).obj;
    const patched = patchObject(podDef, pod, { spec: { containers: [{ name: "only", image: "z" }] } }) as Pod;
    expect(patched.spec!.containers.map((c) => c.name)).toEqual(["only"]);
  });

  it("rejects unknown fields and kind changes", () => {
    expect(() => patchObject(cmDef, cm, { dta: {} })).toThrow('unknown field "dta"');
    expect(() => patchObject(cmDef, cm, { kind: "Secret" })).toThrow("a patch may not change apiVersion or kind");
  });

  it("takes only JSON objects, and reads a pinned resourceVersion", () => {
    expect(parseMergePatch('{"a":1}')).toEqual({ a: 1 });
    for (const bad of ["[1]", "null", "3", "{"]) {
      const err = (() => {
        try {
          parseMergePatch(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(grpc.status.INVALID_ARGUMENT);
    }
    expect(pinnedResourceVersion({ metadata: { resourceVersion: "42" } })).toBe("42");
    expect(pinnedResourceVersion({ metadata: {} })).toBe("");
  });
});

describe("etcd keys and list filters", () => {
  it("lays keys out as Kubernetes does", () => {
    expect(storageKey(podDef, "default", "web")).toBe("/registry/pods/default/web");
    expect(storageKey(kindFor("v1", "Node")!, "", "n1")).toBe("/registry/nodes/n1");
    expect(resourcePrefix(podDef, "team")).toBe("/registry/pods/team/");
    expect(resourcePrefix(podDef)).toBe("/registry/pods/");
    expect(resourceOfKey("/registry/configmaps/default/x")).toBe("configmaps");
    expect(prefixEnd("/registry/pods/").toString()).toBe("/registry/pods0");
  });

  it("filters by namespace, labels and fields, and rejects bad selectors as INVALID_ARGUMENT", () => {
    expect(objectFilter(cmDef, "default", "a=1", "metadata.name=c")(cm)).toBe(true);
    expect(objectFilter(cmDef, "other", "", "")(cm)).toBe(false);
    expect(objectFilter(cmDef, "", "a!=1", "")(cm)).toBe(false);
    expect(() => objectFilter(cmDef, "", "a in b", "")).toThrow(ApiError);
    expect(() => objectFilter(cmDef, "", "", "spec.x=1")).toThrow("field label not supported: spec.x");
  });
});
