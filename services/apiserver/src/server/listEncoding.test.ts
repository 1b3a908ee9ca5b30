import { describe, expect, it } from "vitest";
import { create, fromBinary } from "@bufbuild/protobuf";
import {
  ConfigMapSchema,
  ListResponseSchema,
  WatchEventSchema,
  WatchResponseSchema,
  kindFor,
  unpackObject,
  encodeObject,
  type ConfigMap,
} from "@kubelab/api";
import { toBinary } from "@bufbuild/protobuf";
import { CacheEntry } from "../storage/watchCache.js";
import { encodeListResponse, encodeWatchResponse } from "./listEncoding.js";

const def = kindFor("v1", "ConfigMap")!;
const entry = (name: string, value: string) => {
  const obj = create(ConfigMapSchema, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default", resourceVersion: "7" },
    data: { v: value.repeat(100) },
  });
  return new CacheEntry(def, `/registry/configmaps/default/${name}`, obj, 7);
};

describe("hand-encoded responses decode as the generated messages", () => {
  it("ListResponse with items, continue and remaining count", () => {
    const entries = [entry("a", "x"), entry("b", "y"), entry("c", "z".repeat(200))];
    const decoded = fromBinary(ListResponseSchema, encodeListResponse("42", "tok", 5, entries));
    expect(decoded.resourceVersion).toBe("42");
    expect(decoded.continue).toBe("tok");
    expect(decoded.remainingItemCount).toBe(5n);
    expect(decoded.items.map((a) => (unpackObject(a) as ConfigMap).metadata!.name)).toEqual(["a", "b", "c"]);
    expect((unpackObject(decoded.items[2]) as ConfigMap).data.v).toHaveLength(20000);
  });

  it("an empty ListResponse leaves out empty fields", () => {
    const decoded = fromBinary(ListResponseSchema, encodeListResponse("", "", undefined, []));
    expect(decoded.items).toEqual([]);
    expect(decoded.remainingItemCount).toBeUndefined();
    expect(encodeListResponse("", "", undefined, [])).toHaveLength(0);
  });

  it("WatchResponse batches events in order", () => {
    const events = ["ADDED", "MODIFIED", "DELETED"].map((type, i) =>
      toBinary(
        WatchEventSchema,
        create(WatchEventSchema, {
          type,
          object: { typeUrl: "type.googleapis.com/kubelab.core.v1.ConfigMap", value: encodeObject(entry(`e${i}`, "q").obj) },
        }),
      ),
    );
    const decoded = fromBinary(WatchResponseSchema, encodeWatchResponse(events));
    expect(decoded.events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(decoded.events.map((e) => (unpackObject(e.object) as ConfigMap).metadata!.name)).toEqual(["e0", "e1", "e2"]);
  });
});
