import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import {
  ApiService,
  BookmarkSchema,
  GetAPIResourcesRequestSchema,
  type APIResource,
  type APIResourceList,
  BindRequestSchema,
  type Pod,
  type PodLogChunk,
  PodLogOptionsSchema,
  DeleteRequestSchema,
  GetRequestSchema,
  ListRequestSchema,
  PatchRequestSchema,
  WatchRequestSchema,
  CreateRequestSchema,
  UpdateRequestSchema,
  UpdateScaleRequestSchema,
  ExecInputSchema,
  ExecRequestSchema,
  PortForwardInputSchema,
  type PortForwardInput,
  type PortForwardOutput,
  type ExecInput,
  type ExecOutput,
  type Scale,
  VersionRequestSchema,
  kindForResource,
  kindForTypeName,
  packObject,
  unpackObject,
  type DeleteResponse,
  type KindDefinition,
  type KubeObject,
  type ListResponse,
  type VersionInfo,
  type WatchResponse,
} from "@kubelab/api";
import { grpcClientClass } from "./grpcService.js";
import { ApiError } from "@kubelab/api";

/** The lab's API server on the host, used when no address is given. */
/** The lab's three API servers, as published on the host. */
export const DEFAULT_SERVER = "127.0.0.1:6443,127.0.0.1:6444,127.0.0.1:6445";

/** A kind named by its resource ("pods") or its generated schema (PodSchema, typed). */
export type KindRef<T extends KubeObject = KubeObject> = string | GenMessage<T> | KindDefinition;

export function kindDef(ref: KindRef<KubeObject>): KindDefinition {
  const def =
    typeof ref === "string" ? kindForResource(ref) : "resource" in ref ? ref : kindForTypeName((ref as GenMessage<KubeObject>).typeName);
  if (!def) throw new Error(`unknown resource ${typeof ref === "string" ? ref : (ref as { typeName: string }).typeName}`);
  return def;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  continue: string;
  remainingItemCount?: number;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
  resourceVersion: string;
}

export interface LogOptions {
  namespace?: string;
  name: string;
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tailLines?: number;
  timestamps?: boolean;
  sinceSeconds?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
}

export interface ClientOptions {
  /** Deadline of each unary call in ms (default 30 s). */
  timeoutMs?: number;
  channelOptions?: grpc.ChannelOptions;
}

type Unary<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

interface RawClient extends grpc.Client {
  create: Unary<unknown, Any>;
  get: Unary<unknown, Any>;
  list: Unary<unknown, ListResponse>;
  update: Unary<unknown, Any>;
  updateStatus: Unary<unknown, Any>;
  patch: Unary<unknown, Any>;
  delete: Unary<unknown, DeleteResponse>;
  version: Unary<unknown, VersionInfo>;
  bind: Unary<unknown, Any>;
  getAPIResources: Unary<unknown, APIResourceList>;
  getScale: Unary<unknown, Scale>;
  updateScale: Unary<unknown, Scale>;
  watch(req: unknown, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<WatchResponse>;
  logs(req: unknown, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<PodLogChunk>;
  exec(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<ExecInput, ExecOutput>;
  portForward(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<PortForwardInput, PortForwardOutput>;
}

const RawClientCtor = grpcClientClass<RawClient>(ApiService);

/**
 * HTTP/2 flow-control window of a client's connection and of each of its streams. With HTTP/2's
 * default of 64 KiB, every watch stream of a connection shares 64 KiB in flight, and the server
 * may send more only when this process's event loop has read it and sent a window update, so a
 * hundred busy watchers fell seconds behind while creates were answered at once (the api bench's
 * watch part). A window this large leaves the pace to the reader's speed, and still bounds what
 * a stalled reader can make the server buffer.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Channel options of an ApiClient; exported for tools that open their own channel to the API
 * server. gRPC's default 4 MiB receive limit stands: the server keeps every message under it.
 */
export const CLIENT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // A server that vanished without closing its connections (a paused or cut-off container) is
  // found within a few seconds, and the channel moves to another address.
  "grpc.keepalive_time_ms": 5_000,
  "grpc.keepalive_timeout_ms": 3_000,
  // gRPC's reconnect back-off grows to 120 s: a client cut off for a minute would then wait as
  // long again after the network heals. An HTTP client (client-go) dials anew on each request;
  // a few seconds at most comes close.
  "grpc.max_reconnect_backoff_ms": 3_000,
  "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES,
};

/**
 * The gRPC target for API server addresses: one `host:port` as it is (a name resolves to every
 * address it has, as the lab's "apiserver" names its three API servers), or a comma-separated
 * list of IPv4 `host:port`s (KUBELAB_SERVER=127.0.0.1:6443,127.0.0.1:6444), which gRPC's pick_first
 * tries in order and leaves for the next one when its server goes away.
 */
export function apiServerTarget(address: string): string {
  const parts = address
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length <= 1) return parts[0] ?? address;
  const ipv4 = parts.map((p) => p.replace(/^localhost:/, "127.0.0.1:"));
  const bad = ipv4.find((p) => !/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(p));
  if (bad)
    throw new Error(
      `API server address ${JSON.stringify(bad)}: a list of addresses takes IPv4 host:port entries; give one name that resolves to every server instead`,
    );
  return `ipv4:${ipv4.join(",")}`;
}

/** Items per page of listAll and of informers' lists, as client-go's reflector pages them. */
export const LIST_PAGE_SIZE = 500;

/** A typed client of the kubelab API server. Errors are ApiError with the server's gRPC code and reason. */
export class ApiClient {
  private readonly raw: RawClient;
  private readonly timeoutMs: number;

  constructor(
    readonly address: string = process.env.KUBELAB_SERVER ?? DEFAULT_SERVER,
    opts: ClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.raw = new RawClientCtor(apiServerTarget(address), grpc.credentials.createInsecure(), {
      ...CLIENT_CHANNEL_OPTIONS,
      ...opts.channelOptions,
    });
  }

  close(): void {
    this.raw.close();
  }

  private call<Res>(method: keyof RawClient, req: unknown, timeoutMs = this.timeoutMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = this.raw[method] as unknown as Unary<unknown, Res>;
      fn.call(this.raw, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(ApiError.fromServiceError(err));
        else resolve(res as Res);
      });
    });
  }

  async create<T extends KubeObject>(obj: T): Promise<T> {
    const any = await this.call<Any>("create", create(CreateRequestSchema, { object: packObject(obj) }));
    return unpackObject(any) as T;
  }

  async get<T extends KubeObject>(kind: KindRef<T>, namespace: string, name: string): Promise<T> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const any = await this.call<Any>("get", create(GetRequestSchema, { resource: def.resource, namespace, name }));
    return unpackObject(any) as T;
  }

  async list<T extends KubeObject>(kind: KindRef<T>, opts: ListOptions = {}): Promise<ListResult<T>> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const res = await this.call<ListResponse>(
      "list",
      create(ListRequestSchema, {
        resource: def.resource,
        namespace: opts.namespace ?? "",
        labelSelector: opts.labelSelector ?? "",
        fieldSelector: opts.fieldSelector ?? "",
        limit: opts.limit ?? 0,
        continue: opts.continue ?? "",
      }),
    );
    return {
      items: res.items.map((a) => unpackObject(a) as T),
      resourceVersion: res.resourceVersion,
      continue: res.continue,
      remainingItemCount: res.remainingItemCount === undefined ? undefined : Number(res.remainingItemCount),
    };
  }

  /** Every page of a list (500 items a page unless a limit is given), followed through continue tokens. */
  async listAll<T extends KubeObject>(kind: KindRef<T>, opts: Omit<ListOptions, "continue"> = {}): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont = "";
    let rv = "";
    do {
      const page = await this.list(kind, { limit: LIST_PAGE_SIZE, ...opts, continue: cont });
      items.push(...page.items);
      if (!rv) rv = page.resourceVersion;
      cont = page.continue;
    } while (cont);
    return { items, resourceVersion: rv, continue: "" };
  }

  async update<T extends KubeObject>(obj: T): Promise<T> {
    return unpackObject(await this.call<Any>("update", create(UpdateRequestSchema, { object: packObject(obj) }))) as T;
  }

  async updateStatus<T extends KubeObject>(obj: T): Promise<T> {
    return unpackObject(await this.call<Any>("updateStatus", create(UpdateRequestSchema, { object: packObject(obj) }))) as T;
  }

  /** JSON merge patch; `patch` is the patch document or its text. */
  async patch<T extends KubeObject>(
    kind: KindRef<T>,
    namespace: string,
    name: string,
    patch: object | string,
    subresource = "",
  ): Promise<T> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const any = await this.call<Any>(
      "patch",
      create(PatchRequestSchema, {
        resource: def.resource,
        namespace,
        name,
        patch: typeof patch === "string" ? patch : JSON.stringify(patch),
        subresource,
      }),
    );
    return unpackObject(any) as T;
  }

  async delete<T extends KubeObject>(
    kind: KindRef<T>,
    namespace: string,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ object: T; removed: boolean }> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const res = await this.call<DeleteResponse>(
      "delete",
      create(DeleteRequestSchema, {
        resource: def.resource,
        namespace,
        name,
        gracePeriodSeconds: opts.gracePeriodSeconds,
        preconditions: opts.preconditions
          ? { uid: opts.preconditions.uid ?? "", resourceVersion: opts.preconditions.resourceVersion ?? "" }
          : undefined,
        propagationPolicy: opts.propagationPolicy ?? "",
      }),
    );
    return { object: unpackObject(res.object) as T, removed: res.removed };
  }

  /** Assigns a pod to a node (pods/binding); ABORTED if it already has one. */
  async bind(namespace: string, name: string, nodeName: string, uid = ""): Promise<Pod> {
    return unpackObject(await this.call<Any>("bind", create(BindRequestSchema, { namespace, name, nodeName, uid }))) as Pod;
  }

  /** The scale subresource of a Deployment or ReplicaSet: spec.replicas, status.replicas and the pods' selector. */
  getScale(resource: "deployments" | "replicasets", namespace: string, name: string): Promise<Scale> {
    return this.call<Scale>("getScale", create(GetRequestSchema, { resource, namespace, name }));
  }

  /** Sets spec.replicas through the scale subresource; a resourceVersion in `scale` must still be current. */
  updateScale(resource: "deployments" | "replicasets", scale: Scale): Promise<Scale> {
    return this.call<Scale>("updateScale", create(UpdateScaleRequestSchema, { resource, scale }));
  }

  version(): Promise<VersionInfo> {
    return this.call<VersionInfo>("version", create(VersionRequestSchema));
  }

  /** Discovery: every resource the server serves, with its kind, scope, verbs and short names. */
  async apiResources(): Promise<APIResource[]> {
    return (await this.call<APIResourceList>("getAPIResources", create(GetAPIResourcesRequestSchema))).resources;
  }

  /**
   * Runs a command in a pod's container (pods/exec), or attaches to its main process
   * (`attach: true`): the stream's first message is sent; write stdin, resizes and closeStdin
   * to it, read stdout, stderr and the exit from it.
   */
  exec(req: MessageInitShape<typeof ExecRequestSchema>): grpc.ClientDuplexStream<ExecInput, ExecOutput> {
    const call = this.raw.exec();
    call.write(create(ExecInputSchema, { input: { case: "start", value: create(ExecRequestSchema, req) } }));
    return call;
  }

  /**
   * One TCP connection to a port of a pod (pods/portforward): the stream's first message is sent;
   * write data (and closeWrite for a half-close) to it, read the pod's bytes from it.
   */
  portForward(namespace: string, name: string, port: number): grpc.ClientDuplexStream<PortForwardInput, PortForwardOutput> {
    const call = this.raw.portForward();
    call.write(create(PortForwardInputSchema, { input: { case: "start", value: { namespace, name, port } } }));
    return call;
  }

  /**
   * A watch stream. Iterate it for events; it ends with an ApiError (isGone: relist) or when
   * closed with stop().
   */
  /**
   * A container's log (pods/log), relayed by the API server from the pod's kubelet, as chunks of
   * bytes. Breaking out of the iteration cancels the stream (and the kubelet's read with it).
   */
  async *logs(opts: LogOptions): AsyncGenerator<Uint8Array> {
    const call = this.raw.logs(
      create(PodLogOptionsSchema, {
        namespace: opts.namespace ?? "default",
        name: opts.name,
        container: opts.container ?? "",
        follow: opts.follow ?? false,
        previous: opts.previous ?? false,
        tailLines: opts.tailLines === undefined ? undefined : BigInt(opts.tailLines),
        timestamps: opts.timestamps ?? false,
        sinceSeconds: opts.sinceSeconds === undefined ? undefined : BigInt(opts.sinceSeconds),
      }),
    );
    try {
      for await (const chunk of call as AsyncIterable<PodLogChunk>) yield chunk.data;
    } catch (e) {
      throw ApiError.fromServiceError(e as grpc.ServiceError);
    } finally {
      call.cancel();
    }
  }

  watch<T extends KubeObject>(kind: KindRef<T>, opts: WatchOptions = {}): WatchStream<T> {
    const def = kindDef(kind as KindRef<KubeObject>);
    const call = this.raw.watch(
      create(WatchRequestSchema, {
        resource: def.resource,
        namespace: opts.namespace ?? "",
        labelSelector: opts.labelSelector ?? "",
        fieldSelector: opts.fieldSelector ?? "",
        resourceVersion: opts.resourceVersion ?? "",
        allowWatchBookmarks: opts.allowWatchBookmarks ?? false,
      }),
    );
    return new WatchStream<T>(call);
  }

  /** Waits until the server's channel is ready, or fails after timeoutMs. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => this.raw.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())));
  }
}

/** Events of one watch call as an async iterable. */
export class WatchStream<T extends KubeObject> implements AsyncIterable<WatchEvent<T>> {
  private stopped = false;

  constructor(private readonly call: grpc.ClientReadableStream<WatchResponse>) {
    // A cancelled or failed stream must not crash the process through an unhandled 'error'.
    call.on("error", () => {});
  }

  stop(): void {
    this.stopped = true;
    this.call.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    try {
      for await (const batch of this.call as AsyncIterable<WatchResponse>) {
        for (const msg of batch.events) {
          if (msg.type === "BOOKMARK") {
            const bookmark = msg.object && anyUnpack(msg.object, BookmarkSchema);
            yield { type: "BOOKMARK", object: bookmark as unknown as T, resourceVersion: bookmark?.metadata?.resourceVersion ?? "" };
            continue;
          }
          const object = unpackObject(msg.object) as T;
          yield { type: msg.type as WatchEventType, object, resourceVersion: object.metadata?.resourceVersion ?? "" };
        }
      }
    } catch (e) {
      const err = e as grpc.ServiceError;
      if (this.stopped && err.code === grpc.status.CANCELLED) return;
      throw ApiError.fromServiceError(err);
    }
  }
}
