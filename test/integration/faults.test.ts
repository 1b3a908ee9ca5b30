import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ConfigMapSchema } from "@kubelab/api";
import { ApiError, type ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

const cm = (name: string) => create(ConfigMapSchema, { metadata: { name, namespace: "default" }, data: { n: name } });

describe("etcd faults", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  const acknowledged = new Set<string>();

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints, { etcdRequestTimeoutSeconds: 3 }));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  /** Writes for `ms` with two writers; remembers every write the API acknowledged. */
  async function writeFor(prefix: string, ms: number, duringWrites?: () => Promise<void>): Promise<{ ok: number; failed: number }> {
    let ok = 0;
    let failed = 0;
    let n = 0;
    const end = Date.now() + ms;
    const writer = async () => {
      while (Date.now() < end) {
        const name = `${prefix}-${n++}`;
        try {
          await client.create(cm(name));
          acknowledged.add(name);
          ok++;
        } catch (e) {
          expect(e).toBeInstanceOf(ApiError);
          failed++;
        }
      }
    };
    await Promise.all([writer(), writer(), duringWrites?.()]);
    return { ok, failed };
  }

  it("loses no acknowledged write when one member stops mid-stream", async () => {
    for (const victim of [0, 1, 2]) {
      const res = await writeFor(`one-down-${victim}`, 3000, async () => {
        await new Promise((r) => setTimeout(r, 800));
        await etcd.stopMember(victim);
      });
      expect(res.ok).toBeGreaterThan(10);
      // With one member down, the other two are a quorum: writes go on.
      const after = await writeFor(`still-up-${victim}`, 3000);
      expect(after.ok).toBeGreaterThan(0);
      await etcd.startMember(victim);
      await etcd.waitHealthy();
    }
    const stored = new Set((await client.listAll(ConfigMapSchema, { namespace: "default" })).items.map((c) => c.metadata!.name));
    const lost = [...acknowledged].filter((n) => !stored.has(n));
    expect(lost).toEqual([]);
  });

  it("answers UNAVAILABLE within the deadline when two members are down, and recovers when they return", async () => {
    await etcd.stopMember(1);
    await etcd.stopMember(2);
    for (const op of [
      () => client.create(cm("no-quorum")),
      () => client.get(ConfigMapSchema, "default", "one-down-0-0"),
      () => client.list(ConfigMapSchema, {}),
    ]) {
      const started = Date.now();
      const err = await op().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(grpc.status.UNAVAILABLE);
      expect((err as ApiError).message).toMatch(/^storage is unavailable: /);
      // The deadline is 3 s; generous bound, never a hang.
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    await etcd.startMember(1);
    await etcd.startMember(2);
    await etcd.waitHealthy();
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await client.create(cm("after-recovery"));
        acknowledged.add("after-recovery");
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const stored = new Set((await client.listAll(ConfigMapSchema, { namespace: "default" })).items.map((c) => c.metadata!.name));
    expect([...acknowledged].filter((n) => !stored.has(n))).toEqual([]);
    // The watch cache followed etcd through it all: a watch sees new writes.
    const list = await client.list(ConfigMapSchema, {});
    const stream = client.watch(ConfigMapSchema, { resourceVersion: list.resourceVersion });
    const first = (async () => {
      for await (const ev of stream) return ev;
    })();
    await client.create(cm("watched-after-recovery"));
    expect((await first)?.object.metadata?.name).toBe("watched-after-recovery");
    stream.stop();
  });
});
