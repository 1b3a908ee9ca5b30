import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ConfigMapSchema, type ConfigMap } from "@kubelab/api";
import type { ApiClient, WatchEvent } from "./apiClient.js";
import { Informer } from "./informer.js";

const cm = (name: string, rv: string) =>
  create(ConfigMapSchema, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "d", resourceVersion: rv } });

/** A client whose list answers `items` and whose one watch yields `events`, then waits until stopped. */
function fakeClient(items: ConfigMap[], events: WatchEvent<ConfigMap>[]): ApiClient {
  return {
    listAll: async () => ({ items, resourceVersion: "1", continue: "" }),
    watch: () => {
      let stop: () => void = () => {};
      const stopped = new Promise<void>((r) => (stop = r));
      return {
        stop,
        async *[Symbol.asyncIterator]() {
          yield* events;
          await stopped;
        },
      };
    },
  } as unknown as ApiClient;
}

describe("Informer", () => {
  it("gives every handler its events even when one throws, and reports the exception", async () => {
    const errors: unknown[] = [];
    const informer = new Informer<ConfigMap>(
      fakeClient([cm("a", "1")], [{ type: "ADDED", object: cm("b", "2"), resourceVersion: "2" }]),
      "configmaps",
      { onHandlerError: (e) => errors.push(e) },
    );
    const seen: string[] = [];
    informer.addEventHandler({
      onAdd: () => {
        throw new Error("a broken handler");
      },
    });
    informer.addEventHandler({ onAdd: (o) => seen.push(o.metadata!.name) });
    await informer.start();
    await new Promise((r) => setTimeout(r, 20));
    informer.stop();
    expect(seen).toEqual(["a", "b"]);
    expect(errors.map((e) => (e as Error).message)).toEqual(["a broken handler", "a broken handler"]);
    expect(informer.get("d/b")?.metadata?.name).toBe("b");
  });
});
