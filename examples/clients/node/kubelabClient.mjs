#!/usr/bin/env node
// A kubelab API client written as a user of another stack would write one: @grpc/grpc-js with
// @grpc/proto-loader, which reads proto/ at run time through protobufjs (not the project's
// generated protobuf-es code, not its ApiClient), with gRPC's default channel settings.
//
//   node examples/clients/node/kubelabClient.mjs [127.0.0.1:6443]
//
// runs a short tour: discovery, create, list, watch, a conflict, delete. The functions below are
// what the test suite drives (test/integration/otherClients.test.ts). See docs/grpc-clients.md.
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../proto");
// The API service and every kind's message (kubelab/*/v1/*.proto).
const files = readdirSync(protoDir, { recursive: true })
  .filter((f) => f.endsWith(".proto"))
  .map((f) => f.split(path.sep).join("/"));

// keepCase: the field names of the .proto files (resource_version, label_selector...).
const definition = protoLoader.loadSync(files, { includeDirs: [protoDir], keepCase: true, longs: String, defaults: true });
const { ApiService } = grpc.loadPackageDefinition(definition).kubelab.apiserver.v1;
// The objects inside google.protobuf.Any are encoded with protobufjs from the same files.
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(protoDir, target));
root.loadSync(files, { keepCase: true });

const TYPE_URL_PREFIX = "type.googleapis.com/";

/** An object packed as the API takes it: Any { type_url, value = the kind's message }. */
export function pack(messageType, object) {
  const type = root.lookupType(messageType);
  const problem = type.verify(object);
  if (problem) throw new Error(`${messageType}: ${problem}`);
  return { type_url: TYPE_URL_PREFIX + messageType, value: type.encode(type.fromObject(object)).finish() };
}

/** An Any from the server, decoded as the message its type_url names. */
export function unpack(any) {
  const type = root.lookupType(any.type_url.slice(TYPE_URL_PREFIX.length));
  return type.toObject(type.decode(any.value), { longs: String, defaults: true });
}

/** A client on `address` with gRPC's defaults: unary calls with a deadline, errors as gRPC gives them. */
export function connect(address = "127.0.0.1:6443") {
  const stub = new ApiService(address, grpc.credentials.createInsecure());
  const call = (method, request, timeoutMs = 10_000) =>
    new Promise((resolve, reject) =>
      stub[method](request, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  return {
    apiResources: async () => (await call("GetAPIResources", {})).resources,
    create: async (messageType, object) => unpack(await call("Create", { object: pack(messageType, object) })),
    get: async (resource, namespace, name) => unpack(await call("Get", { resource, namespace, name })),
    list: async (resource, opts = {}) => {
      const res = await call("List", {
        resource,
        namespace: opts.namespace ?? "",
        label_selector: opts.labelSelector ?? "",
        limit: opts.limit ?? 0,
        continue: opts.continue ?? "",
      });
      return { resourceVersion: res.resource_version, continue: res.continue, items: res.items.map(unpack) };
    },
    update: async (messageType, object) => unpack(await call("Update", { object: pack(messageType, object) })),
    /** Deletes at once with gracePeriodSeconds 0 (a field with presence: 0 is sent, not left out). */
    delete: async (resource, namespace, name, gracePeriodSeconds) => {
      const res = await call("Delete", { resource, namespace, name, grace_period_seconds: gracePeriodSeconds });
      return { object: unpack(res.object), removed: res.removed };
    },
    /** A watch stream: `onEvent(type, object)` for each event; returns the call (cancel() ends it). */
    watch: (resource, opts, onEvent, onError) => {
      const stream = stub.Watch({
        resource,
        namespace: opts.namespace ?? "",
        resource_version: opts.resourceVersion ?? "",
        allow_watch_bookmarks: true,
      });
      stream.on("data", (res) => {
        for (const ev of res.events) onEvent(ev.type, ev.type === "BOOKMARK" ? null : unpack(ev.object));
      });
      stream.on("error", (err) => (err.code === grpc.status.CANCELLED ? undefined : onError?.(err)));
      return stream;
    },
    close: () => stub.close(),
  };
}

async function tour(address) {
  const api = connect(address);
  const say = (line) => process.stdout.write(`${line}\n`);
  const configMaps = (await api.apiResources()).find((r) => r.name === "configmaps");
  say(`configmaps: kind ${configMaps.kind}, namespaced ${configMaps.namespaced}, message ${configMaps.message_type}`);
  const name = `tour-${process.pid}`;
  const events = [];
  const watch = api.watch(
    "configmaps",
    { namespace: "default", resourceVersion: (await api.list("configmaps", { namespace: "default", limit: 1 })).resourceVersion },
    (type, obj) => events.push(`${type} ${obj?.metadata.name ?? ""}`),
  );
  const created = await api.create("kubelab.core.v1.ConfigMap", { metadata: { name, namespace: "default" }, data: { greeting: "hello" } });
  say(`created ${created.metadata.name} at resourceVersion ${created.metadata.resource_version}`);
  await api.update("kubelab.core.v1.ConfigMap", { ...created, data: { greeting: "hello again" } });
  try {
    await api.update("kubelab.core.v1.ConfigMap", { ...created, data: { greeting: "stale" } });
  } catch (err) {
    say(`a stale update: ${grpc.status[err.code]} ${err.details} (reason ${err.metadata.get("kubelab-reason")[0]})`);
  }
  await api.delete("configmaps", "default", name, 0);
  await new Promise((r) => setTimeout(r, 500));
  watch.cancel();
  say(`watched: ${events.filter((e) => !e.startsWith("BOOKMARK")).join(", ")}`);
  api.close();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  tour(process.argv[2] ?? process.env.KUBELAB_SERVER ?? "127.0.0.1:6443").catch((err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
