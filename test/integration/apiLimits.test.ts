import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  ApiService,
  ConfigMapSchema,
  CreateRequestSchema,
  ListRequestSchema,
  NamespaceSchema,
  SecretSchema,
  WatchRequestSchema,
  encodeObject,
  type ConfigMap,
  type WatchResponse,
} from "@kubelab/api";
import { ApiError, grpcClientClass, type ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { eventually } from "../support/eventually.js";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

// The API under clients that were not written here: gRPC's default 4 MiB receive limit, default
// HTTP/2 windows, readers that stop reading, and requests that are not what they should be.
const GRPC_DEFAULT_MAX_RECEIVE = 4 * 1024 * 1024;
const KiB100 = "x".repeat(100 * 1024);

type Raw = grpc.Client & {
  create(req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
  list(req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
  watch(req: unknown): grpc.ClientReadableStream<WatchResponse>;
};
/** A client with gRPC's defaults only (the project's generated messages, none of ApiClient's settings). */
const rawClient = (port: number) => new (grpcClientClass<Raw>(ApiService))(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const rawCall = (c: Raw, method: "create" | "list", req: unknown) =>
  new Promise<unknown>((resolve, reject) => c[method](req, new grpc.Metadata(), (err, res) => (err ? reject(err) : resolve(res))));

const apiError = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof ApiError ? e : ApiError.fromServiceError(e as grpc.ServiceError)),
  );
const cm = (namespace: string, name: string, data: Record<string, string>) =>
  create(ConfigMapSchema, { metadata: { name, namespace }, data });

/**
 * A watch opened on a bare HTTP/2 connection (gRPC's framing by hand) whose stream is never read:
 * what a client that stops reading looks like to the server, with HTTP/2's default 64 KiB window.
 * (A grpc-js client reads ahead up to 16 messages into its own buffer even while paused.)
 */
function unreadWatch(port: number, req: Parameters<typeof create<typeof WatchRequestSchema>>[1]) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const body = toBinary(WatchRequestSchema, create(WatchRequestSchema, req));
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  const stream = session.request({
    ":method": "POST",
    ":path": "/kubelab.apiserver.v1.ApiService/Watch",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.end(frame);
  stream.pause();
  let status: { code: number; message: string } | undefined;
  stream.on("trailers", (t) => (status = { code: Number(t["grpc-status"]), message: decodeURIComponent(String(t["grpc-message"] ?? "")) }));
  stream.on("error", () => {});
  return {
    /** Reads again: the messages held up, then the status. */
    resume: () => stream.resume(),
    status: () => status,
    close: () => session.close(),
  };
}

/** Every message of a raw watch, and how it ended. */
function recordWatch(stream: grpc.ClientReadableStream<WatchResponse>) {
  const rec = {
    events: [] as Array<{ type: string; rv: string }>,
    biggestMessage: 0,
    error: undefined as grpc.ServiceError | undefined,
    endedAt: 0,
  };
  stream.on("data", (res: WatchResponse) => {
    for (const ev of res.events) rec.events.push({ type: ev.type, rv: "" });
  });
  stream.on("error", (e: grpc.ServiceError) => {
    rec.error = e;
    rec.endedAt = Date.now();
  });
  return rec;
}

describe("the API under clients with default settings", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    for (const ns of ["big", "paused", "limits"]) await client.create(create(NamespaceSchema, { metadata: { name: ns } }));
    // 5 MB of ConfigMaps: more than one gRPC message may carry by default.
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.create(cm("big", `cm-${String(i).padStart(2, "0")}`, { blob: KiB100 }))));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("sends a new watch's 5 MB initial state in messages a default client takes", async () => {
    const raw = rawClient(server.port);
    const stream = raw.watch(create(WatchRequestSchema, { resource: "configmaps", namespace: "big" }));
    let biggest = 0;
    stream.on(
      "data",
      (res: WatchResponse) =>
        (biggest = Math.max(
          biggest,
          res.events.reduce((n, e) => n + (e.object?.value.length ?? 0), 0),
        )),
    );
    const rec = recordWatch(stream);
    await eventually("50 ADDED", async () => expect(rec.events.length).toBe(50), 20_000);
    expect(rec.error).toBeUndefined();
    expect(biggest).toBeLessThan(GRPC_DEFAULT_MAX_RECEIVE / 2);
    stream.cancel();
    raw.close();
  });

  it("pages a LIST with a limit by bytes too, and tells an unlimited LIST too large for one message to page", async () => {
    const first = await client.list(ConfigMapSchema, { namespace: "big", limit: 500 });
    expect(first.items.length).toBeGreaterThan(0);
    expect(first.items.length).toBeLessThan(50);
    expect(first.continue).not.toBe("");
    expect(first.remainingItemCount).toBe(50 - first.items.length);
    const all = await client.listAll(ConfigMapSchema, { namespace: "big" });
    expect(all.items.map((c) => c.metadata!.name)).toEqual(Array.from({ length: 50 }, (_, i) => `cm-${String(i).padStart(2, "0")}`));

    const raw = rawClient(server.port);
    const err = (await rawCall(raw, "list", create(ListRequestSchema, { resource: "configmaps", namespace: "big" })).catch(
      (e) => e,
    )) as grpc.ServiceError;
    raw.close();
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(
      /^the list of configmaps is \d+ bytes or more, larger than one response may be \(3145728 bytes\): list it in pages with limit and continue$/,
    );
    expect(err.metadata.get("kubelab-reason")).toEqual(["BadRequest"]);
  });

  it("lets a watcher that stopped reading while 4 MB were written resume without one oversized message", async () => {
    const target = await client.create(cm("paused", "target", { v: "0" }));
    const raw = rawClient(server.port);
    const stream = raw.watch(
      create(WatchRequestSchema, { resource: "configmaps", namespace: "paused", resourceVersion: target.metadata!.resourceVersion }),
    );
    const rec = recordWatch(stream);
    stream.pause();
    for (let i = 1; i <= 40; i++) await client.patch(ConfigMapSchema, "paused", "target", { data: { v: `${i}`, blob: KiB100 } });
    await new Promise((r) => setTimeout(r, 500));
    stream.resume();
    await eventually("40 MODIFIED", async () => expect(rec.events.filter((e) => e.type === "MODIFIED").length).toBe(40), 20_000);
    expect(rec.error).toBeUndefined();
    stream.cancel();
    raw.close();
  });

  describe("Kubernetes' 1 MiB limit on the data of ConfigMaps and Secrets", () => {
    const MiB = 1024 * 1024;
    it("takes exactly 1 MiB and refuses one byte more on create, update and patch, writing nothing", async () => {
      const ok = await client.create(cm("limits", "full", { a: "x".repeat(MiB / 2), b: "y".repeat(MiB / 2) }));
      const refused = await apiError(client.create(cm("limits", "over", { a: "x".repeat(MiB / 2), b: "y".repeat(MiB / 2 + 1) })));
      expect(refused).toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        reason: "Invalid",
        message: 'ConfigMap "over" is invalid: []: Too long: must have at most 1048576 bytes',
      });
      expect(refused!.causes).toEqual([
        { field: "[]", type: "FieldValueTooLong", message: "[]: Too long: must have at most 1048576 bytes" },
      ]);
      expect(await apiError(client.get(ConfigMapSchema, "limits", "over"))).toMatchObject({ code: grpc.status.NOT_FOUND });

      const small = await client.create(cm("limits", "grows", { a: "1" }));
      const update = await apiError(client.update({ ...small, data: { a: "x".repeat(MiB + 1) } } as ConfigMap));
      expect(update?.message).toBe('ConfigMap "grows" is invalid: []: Too long: must have at most 1048576 bytes');
      const patch = await apiError(
        client.patch(ConfigMapSchema, "limits", "grows", { binaryData: { b: Buffer.from("z".repeat(MiB)).toString("base64") } }),
      );
      expect(patch?.message).toBe('ConfigMap "grows" is invalid: []: Too long: must have at most 1048576 bytes');
      expect((await client.get(ConfigMapSchema, "limits", "grows")).data).toEqual({ a: "1" });
      expect(ok.metadata!.name).toBe("full");
    });

    it("counts a Secret's data and stringData together", async () => {
      const secret = create(SecretSchema, {
        metadata: { name: "s", namespace: "limits" },
        data: { a: new Uint8Array(MiB / 2) },
        stringData: { b: "y".repeat(MiB / 2 + 1) },
      });
      const err = await apiError(client.create(secret));
      expect(err).toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        message: 'Secret "s" is invalid: data: Too long: must have at most 1048576 bytes',
      });
    });
  });

  describe("client mistakes answered as client mistakes", () => {
    let raw: Raw;
    beforeAll(() => (raw = rawClient(server.port)));
    afterAll(() => raw?.close());

    const createRaw = async (value: Uint8Array) =>
      (await rawCall(
        raw,
        "create",
        create(CreateRequestSchema, { object: { typeUrl: "type.googleapis.com/kubelab.core.v1.ConfigMap", value } }),
      ).catch((e) => e)) as grpc.ServiceError;

    it("answers an object that does not decode as its kind with INVALID_ARGUMENT (BadRequest)", async () => {
      const whole = encodeObject(cm("default", "cut", { a: "hello" }));
      const utf8 = new Uint8Array([0x0a, 0x02, 0xc3, 0x28]); // api_version: not UTF-8
      for (const value of [new Uint8Array([0xff, 0xff, 0xff, 0xff]), whole.subarray(0, whole.length - 2), utf8]) {
        const err = await createRaw(value);
        expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(err.details).toMatch(/^the request could not be decoded as kubelab\.core\.v1\.ConfigMap: /);
        expect(err.metadata.get("kubelab-reason")).toEqual(["BadRequest"]);
      }
    });

    it("answers request bytes that are not the method's message with INVALID_ARGUMENT", async () => {
      const Garbage = grpc.makeGenericClientConstructor(
        {
          create: {
            path: "/kubelab.apiserver.v1.ApiService/Create",
            requestStream: false,
            responseStream: false,
            requestSerialize: () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]),
            requestDeserialize: (b: Buffer) => b,
            responseSerialize: (b: Buffer) => b,
            responseDeserialize: (b: Buffer) => b,
          },
        },
        "Garbage",
      );
      const g = new Garbage(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as grpc.Client & Raw;
      const err = (await rawCall(g, "create", {}).catch((e) => e)) as grpc.ServiceError;
      g.close();
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^the request could not be decoded as kubelab\.apiserver\.v1\.CreateRequest: /);
    });

    it("answers a forged or foreign continue token with INVALID_ARGUMENT", async () => {
      const future = Buffer.from(JSON.stringify({ v: 1, rv: 1e12, start: "/registry/configmaps/big/\u0000" })).toString("base64url");
      const err = await apiError(client.list(ConfigMapSchema, { namespace: "big", limit: 5, continue: future }));
      expect(err).toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        reason: "BadRequest",
        message: "continue key is not valid: its resourceVersion 1000000000000 is in the future",
      });
      const foreign = await apiError(client.list(ConfigMapSchema, { namespace: "big", limit: 5, continue: "bm90IGEgdG9rZW4" }));
      expect(foreign).toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        message: "continue key is not valid: the token does not belong to this list",
      });
    });

    it("answers a create in a Terminating namespace with PERMISSION_DENIED, reason Forbidden", async () => {
      await client.create(create(NamespaceSchema, { metadata: { name: "leaving" } }));
      await client.delete(NamespaceSchema, "", "leaving"); // stays Terminating: no namespace controller here
      // A LIST is served once the watch cache has caught up, as admission reads the namespace there.
      expect(
        (await client.list(NamespaceSchema, { fieldSelector: "metadata.name=leaving" })).items[0]?.metadata?.deletionTimestamp,
      ).not.toBe("");
      const err = await apiError(client.create(cm("leaving", "late", {})));
      expect(err).toMatchObject({
        code: grpc.status.PERMISSION_DENIED,
        reason: "Forbidden",
        message: 'configmaps "late" is forbidden: unable to create new content in namespace leaving because it is being terminated',
      });
    });

    it("ends watches with UNAVAILABLE when the API server shuts down, so clients watch again", async () => {
      const { server: other, client: otherClient } = await startTestApiServer(etcd.endpoints);
      const stream = otherClient.watch(ConfigMapSchema, { namespace: "default" });
      const ended = (async () => {
        try {
          for await (const _ of stream) void _;
          return undefined;
        } catch (e) {
          return e as ApiError;
        }
      })();
      await new Promise((r) => setTimeout(r, 200));
      await other.close();
      const err = await ended;
      otherClient.close();
      expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE, reason: "ServiceUnavailable" });
    });
  });
});

describe("the API server's bounds on what it holds for clients", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  const STALL_S = 2;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints, {
      watchCacheMaxBytes: 2 * 1024 * 1024,
      watchCacheWindowSeconds: 3,
      watchMaxPendingBytes: 2 * 1024 * 1024,
      watchStallTimeoutSeconds: STALL_S,
    }));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("keeps the watch cache's events within their byte bound and gives old ones up when idle", async () => {
    const first = await client.create(cm("default", "churn", { v: "0" }));
    let most = 0;
    for (let i = 1; i <= 60; i++) {
      await client.patch(ConfigMapSchema, "default", "churn", { data: { v: `${i}`, blob: KiB100 } });
      most = Math.max(most, server.cache.historyStats.bytes);
    }
    // 60 events of two 100 KiB objects each would be 12 MB.
    expect(most).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(server.cache.historyStats.events).toBeLessThan(20);
    await eventually("old events given up", async () => expect(server.cache.historyStats).toMatchObject({ events: 0, bytes: 0 }), 15_000);
    const stream = client.watch(ConfigMapSchema, { namespace: "default", resourceVersion: first.metadata!.resourceVersion });
    const err = await (async () => {
      try {
        for await (const _ of stream) void _;
      } catch (e) {
        return e as ApiError;
      }
    })();
    expect(err).toMatchObject({ code: grpc.status.OUT_OF_RANGE, reason: "Expired" });
  });

  it("closes a watcher that does not read within the stall timeout, while a watcher beside it gets every event", async () => {
    const start = await client.create(cm("default", "beside", { v: "0" }));
    const rv = start.metadata!.resourceVersion;
    const slow = unreadWatch(server.port, { resource: "configmaps", namespace: "default", resourceVersion: rv });
    const normal = client.watch(ConfigMapSchema, { namespace: "default", resourceVersion: rv });
    const seen: string[] = [];
    const collecting = (async () => {
      for await (const ev of normal)
        if (ev.type === "MODIFIED" && ev.object.metadata!.name === "beside") seen.push((ev.object as ConfigMap).data.v!);
    })().catch(() => undefined);

    const terminated = async () => {
      const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
      return /^apiserver_terminated_watchers_total\{resource="configmaps",reason="(stalled|pending-bytes)"[^}]*\} ([0-9]+)/m.exec(text);
    };
    expect(await terminated()).toBeNull();
    // 1.5 MB: under the pending bound (2 MiB), so it is the stall timeout that closes it.
    for (let i = 1; i <= 15; i++) await client.patch(ConfigMapSchema, "default", "beside", { data: { v: `${i}`, blob: KiB100 } });
    const writesDone = Date.now();
    // The server closes it; the client hears of it once it reads again (gRPC gives the status after the messages before it).
    await eventually(
      "the slow watcher closed by the server",
      async () => expect((await terminated())?.slice(1)).toEqual(["stalled", "1"]),
      30_000,
      100,
    );
    expect(Date.now() - writesDone).toBeLessThan((STALL_S + 5) * 1000);
    slow.resume();
    await eventually("the slow watcher's client told", async () => expect(slow.status()).toBeDefined(), 20_000);
    expect(slow.status()!.code).toBe(grpc.status.UNAVAILABLE);
    expect(slow.status()!.message).toMatch(/^the watcher was too slow and was closed \(/);
    await eventually(
      "every event at the normal watcher, in order",
      async () => expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => `${i + 1}`)),
      20_000,
    );
    normal.stop();
    await collecting;
    slow.close();
  });
});
