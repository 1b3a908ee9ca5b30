import http from "node:http";
import type { Duplex } from "node:stream";
import { create, fromJson, toJson, type DescMessage } from "@bufbuild/protobuf";
import {
  ApiError,
  BookmarkSchema,
  DecodeError,
  KUBERNETES_PROTOBUF,
  KubernetesProtobufError,
  PodLogOptionsSchema,
  GetRequestSchema,
  ListRequestSchema,
  ScaleSchema,
  StrategicMergePatchError,
  WatchEventSchema,
  applyStrategicMergePatch,
  decodeMessage,
  decodeKubernetesProtobuf,
  decodeObject,
  groupOf,
  objectToJson,
  pruneEmptyUnknownFields,
  unpackObject,
  type KindDefinition,
  type KubeObject,
  type ListResponse,
  type Scale,
} from "@kubelab/api";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import jsonPatch from "fast-json-patch";
import type { Logger } from "@kubelab/service-kit";
import {
  badRequest,
  bodyTooLarge,
  invalidPatch,
  methodNotAllowed,
  notAcceptable,
  notFoundResource,
  toApiError,
  undecodableBody,
  unsupportedMediaType,
} from "../apiErrors.js";
import { bindPod } from "../registry/podBinding.js";
import { getScale, updateScale } from "../registry/scale.js";
import type { AggregatedApis } from "../server/aggregatedApis.js";
import type { KubeletProxy } from "../server/kubeletProxy.js";
import { startWatch, type WatchStreamDeps } from "../server/watchStream.js";
import { MAX_UNPAGED_RESPONSE_BYTES } from "../server/watchSender.js";
import {
  AGGREGATED_DISCOVERY_TYPE,
  aggregatedDiscoveryDoc,
  apiGroupDoc,
  apiGroupListDoc,
  apiResourceListDoc,
  apiVersionsDoc,
  versionDoc,
  wantsAggregatedDiscovery,
} from "./discoveryDocs.js";
import { isTrue, kindForPath, parseApiPath } from "./routes.js";
import { applyMergePatch, parseMergePatch, pinnedResourceVersion } from "../registry/mergePatch.js";
import { unknownFieldWarnings, writeOptionsOf, type HttpWriteOptions } from "./writeOptions.js";
import { deletedStatus, statusOfError } from "./status.js";
import { tableOf, wantsTable } from "./table.js";
import { ExecWebsockets, execRequestOf } from "./execWebsocket.js";
import { PortForwardUpgrades } from "./portForwardUpgrade.js";
import { servedOpenApiV2, servedOpenApiV3, servedOpenApiV3Root } from "./openapi.js";

export interface HttpApiDeps extends WatchStreamDeps {
  aggregated: AggregatedApis;
  kubelets: KubeletProxy;
  log: Logger;
}

export interface RunningHttpApi {
  port: number;
  close(): Promise<void>;
}

/** Bytes a request body may have: an object's limit (1.5 MiB) with room for a patch's framing. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Bytes of one page of a List over HTTP, where no 4 MiB message limit applies. */
const HTTP_PAGE_MAX_BYTES = 8 * 1024 * 1024;

/** Starts Kubernetes' HTTP API beside the gRPC one, over the same object service and watch cache. */
export async function startHttpApi(deps: HttpApiDeps, opts: { bindAddress: string; port: number }): Promise<RunningHttpApi> {
  const api = new HttpApi(deps);
  const server = http.createServer((req, res) => api.handle(req, res));
  const execs = new ExecWebsockets(deps.kubelets);
  const portForwards = new PortForwardUpgrades(deps.kubelets, deps.log);
  server.on("upgrade", (req: Req, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = parseApiPath(url.pathname);
    if (
      path.type === "resource" &&
      path.group === "" &&
      path.resource === "pods" &&
      (path.subresource === "exec" || path.subresource === "attach")
    ) {
      void execs.upgrade(req, socket, head, execRequestOf(path.namespace, path.name, path.subresource, url.searchParams));
      return;
    }
    if (path.type === "resource" && path.group === "" && path.resource === "pods" && path.subresource === "portforward") {
      void portForwards.upgrade(req, socket, head, path.namespace, path.name);
      return;
    }
    socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
  });
  // Long watches: no server-side timeout of idle requests (the watch's own timeoutSeconds ends it).
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.bindAddress, () => resolve());
  });
  const addr = server.address();
  api.advertise = `${opts.bindAddress === "0.0.0.0" ? "127.0.0.1" : opts.bindAddress}:${typeof addr === "object" && addr ? addr.port : opts.port}`;
  return {
    port: typeof addr === "object" && addr ? addr.port : opts.port,
    close: () =>
      new Promise<void>((r) => {
        api.closing = true;
        execs.close();
        portForwards.close();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

type Req = http.IncomingMessage;
type Res = http.ServerResponse;

interface ResourceRequest {
  def: KindDefinition;
  namespace: string;
  name: string;
  subresource: string;
  query: URLSearchParams;
}

/**
 * Kubernetes' HTTP API: discovery (/version, /api, /apis, aggregated or each group version's
 * resources), and every verb on every kind mapped onto the API server's one ObjectService and
 * watch cache (the same the gRPC API uses): get, list (selectors, limit/continue), watch (a stream
 * of JSON events with bookmarks, an ERROR event with a 410 Status after compaction), create,
 * update, patch (merge, JSON patch, strategic merge), delete and deletecollection, with dryRun
 * and fieldValidation; the status, scale, log and binding subresources; Tables for kubectl;
 * errors as metav1.Status with Kubernetes' codes. Bodies come as JSON or Kubernetes' protobuf;
 * answers are JSON.
 */
class HttpApi {
  advertise = "";
  closing = false;
  /**
   * Each watch event's line, by resource and form (JSON or Table), keyed by the encoded event the
   * watch cache shares among that resource's watchers.
   */
  private readonly eventLines = new Map<string, WeakMap<Uint8Array, string>>();

  constructor(private readonly deps: HttpApiDeps) {}

  handle(req: Req, res: Res): void {
    this.route(req, res).catch((e: unknown) => {
      const err = toApiError(e);
      if (err.reason === "InternalError")
        this.deps.log.error("HTTP request failed", { method: req.method, url: req.url, error: (e as Error)?.stack ?? String(e) });
      this.sendStatus(res, err);
    });
  }

  private async route(req: Req, res: Res): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    if (url.pathname === "/openapi/v2" || url.pathname === "/openapi/v3" || url.pathname.startsWith("/openapi/v3/")) {
      if (method !== "GET") throw methodNotAllowed();
      return this.openApi(req, res, url);
    }
    const path = parseApiPath(url.pathname);
    switch (path.type) {
      case "version":
        return this.send(res, 200, versionDoc(`${process.platform}/${process.arch}`));
      case "legacyRoot":
        if (wantsAggregatedDiscovery(req.headers.accept)) return this.sendDiscovery(res, aggregatedDiscoveryDoc("api"));
        return this.send(res, 200, apiVersionsDoc(this.advertise));
      case "groups":
        if (wantsAggregatedDiscovery(req.headers.accept)) return this.sendDiscovery(res, aggregatedDiscoveryDoc("apis"));
        return this.send(res, 200, apiGroupListDoc());
      case "group": {
        const g = apiGroupDoc(path.group);
        if (!g) throw notFoundResource(url.pathname);
        return this.send(res, 200, { kind: "APIGroup", apiVersion: "v1", ...g });
      }
      case "groupVersion": {
        const doc = apiResourceListDoc(path.group ? `${path.group}/${path.version}` : path.version);
        if (!doc) throw notFoundResource(url.pathname);
        return this.send(res, 200, doc);
      }
      case "resource": {
        const def = kindForPath(path.group, path.version, path.resource);
        if (!def) throw notFoundResource(url.pathname);
        const r: ResourceRequest = {
          def,
          namespace: def.namespaced ? path.namespace : "",
          name: path.name,
          subresource: path.subresource,
          query: url.searchParams,
        };
        return this.resource(req, res, method, r);
      }
      default:
        if (url.pathname === "/healthz" || url.pathname === "/livez" || url.pathname === "/readyz") {
          res.writeHead(200, { "content-type": "text/plain" }).end("ok");
          return;
        }
        throw notFoundResource(url.pathname);
    }
  }

  private async resource(req: Req, res: Res, method: string, r: ResourceRequest): Promise<void> {
    const { def, name, subresource } = r;
    if (!name) {
      if (method === "GET") return isTrue(r.query.get("watch")) ? this.watch(req, res, r) : this.list(req, res, r);
      if (method === "POST") return this.create(req, res, r);
      if (method === "DELETE") return this.deleteCollection(req, res, r);
      throw methodNotAllowed();
    }
    if (def.aggregated && (method !== "GET" || subresource)) throw methodNotAllowed();
    switch (subresource) {
      case "":
      case "status":
        if (subresource === "status" && !def.hasStatus) throw notFoundResource(`${def.resource}/status`);
        if (method === "GET") return this.get(req, res, r);
        if (method === "PUT") return this.update(req, res, r);
        if (method === "PATCH") return this.patch(req, res, r);
        if (method === "DELETE" && !subresource) return this.delete(req, res, r);
        throw methodNotAllowed();
      case "scale":
        return this.scale(req, res, method, r);
      case "log":
        if (method !== "GET" || def.resource !== "pods") throw methodNotAllowed();
        return this.logs(req, res, r);
      case "exec":
      case "attach":
        throw badRequest("Upgrade request required");
      case "binding":
        if (method !== "POST" || def.resource !== "pods") throw methodNotAllowed();
        return this.binding(req, res, r);
      default:
        throw notFoundResource(`${def.resource}/${subresource}`);
    }
  }

  // --- reads

  private async get(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const { def, namespace, name } = r;
    const obj = def.aggregated
      ? unpackObject((await this.deps.aggregated.get(def, create(GetRequestSchema, { resource: def.resource, namespace, name }))) as Any)
      : await this.deps.service.get(def, namespace, name);
    if (wantsTable(req.headers.accept)) return this.send(res, 200, tableOf(def, [obj], { resourceVersion: obj.metadata?.resourceVersion }));
    this.send(res, 200, objectToJson(obj));
  }

  private async list(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const { def, namespace, query } = r;
    const limit = Number(query.get("limit") ?? 0);
    if (!Number.isInteger(limit) || limit < 0)
      throw badRequest(`limit: Invalid value: ${query.get("limit")}: must be greater than or equal to 0`);
    const q = {
      namespace,
      labelSelector: query.get("labelSelector") ?? "",
      fieldSelector: query.get("fieldSelector") ?? "",
      limit,
      continue: query.get("continue") ?? "",
    };
    let items: KubeObject[];
    let resourceVersion = "";
    let cont = "";
    let remaining: number | undefined;
    if (def.aggregated) {
      const page = (await this.deps.aggregated.list(def, create(ListRequestSchema, { resource: def.resource, ...q }))) as ListResponse;
      items = page.items.map((a) => unpackObject(a));
    } else {
      const page = await this.deps.service.list(def, {
        ...q,
        pageMaxBytes: HTTP_PAGE_MAX_BYTES,
        unpagedMaxBytes: 8 * MAX_UNPAGED_RESPONSE_BYTES,
      });
      items = page.entries.map((e) => withResourceVersion(e.obj, e.rev));
      resourceVersion = page.resourceVersion;
      cont = page.continue;
      remaining = page.remaining;
    }
    if (wantsTable(req.headers.accept)) return this.send(res, 200, tableOf(def, items, { resourceVersion, continue: cont }));
    this.send(res, 200, {
      kind: `${def.kind}List`,
      apiVersion: def.apiVersion,
      metadata: { resourceVersion, ...(cont && { continue: cont }), ...(remaining !== undefined && { remainingItemCount: remaining }) },
      items: items.map((o) => objectToJson(o)),
    });
  }

  /**
   * A watch: newline-delimited JSON events on a chunked 200 response, as kube-apiserver streams
   * them; a watch that cannot go on (too old a resourceVersion, a slow reader, the server
   * stopping) ends with an ERROR event holding the Status, which client-go acts on (a 410 relists).
   */
  private watch(req: Req, res: Res, r: ResourceRequest): void {
    const { def, namespace, query } = r;
    const table = wantsTable(req.headers.accept);
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;
    const cacheKey = `${def.resource}/${table ? "table" : "json"}`;
    let lines = this.eventLines.get(cacheKey);
    if (!lines) this.eventLines.set(cacheKey, (lines = new WeakMap()));
    const eventLine = (bytes: Uint8Array) => {
      // A live event's bytes are one object shared by every watcher it goes to: converted once.
      let text = lines!.get(bytes);
      if (text === undefined) lines!.set(bytes, (text = toLine(bytes)));
      return text;
    };
    const toLine = (bytes: Uint8Array) => {
      const ev = decodeMessage(WatchEventSchema, bytes);
      if (ev.type === "BOOKMARK") {
        const b = anyUnpack(ev.object!, BookmarkSchema)!;
        return line("BOOKMARK", {
          kind: def.kind,
          apiVersion: def.apiVersion,
          metadata: { resourceVersion: b.metadata?.resourceVersion ?? "" },
        });
      }
      const obj = unpackObject(ev.object);
      return line(ev.type, table ? tableOf(def, [obj], { resourceVersion: obj.metadata?.resourceVersion }) : objectToJson(obj));
    };
    let timer: NodeJS.Timeout | undefined;
    const stop = startWatch(
      this.deps,
      {
        resource: def.resource,
        namespace,
        labelSelector: query.get("labelSelector") ?? "",
        fieldSelector: query.get("fieldSelector") ?? "",
        resourceVersion: query.get("resourceVersion") ?? "",
        allowWatchBookmarks: isTrue(query.get("allowWatchBookmarks")),
      },
      req.socket.remoteAddress ?? "",
      (batch, taken) => {
        res.write(batch.map(eventLine).join(""), () => taken());
      },
      (err) => {
        clearTimeout(timer);
        if (err && !res.writableEnded) res.write(line("ERROR", statusOfError(err)));
        res.end();
      },
    );
    const timeoutSeconds = Number(query.get("timeoutSeconds") ?? 0);
    if (timeoutSeconds > 0) timer = setTimeout(stop, timeoutSeconds * 1000);
    res.on("close", () => {
      clearTimeout(timer);
      stop();
    });
  }

  // --- writes

  private async create(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const opts = writeOptionsOf("Create", r.query);
    const obj = this.decodeFor(r, await readJson(req, r.def), opts, res);
    this.send(res, 201, objectToJson(await this.deps.service.create(obj, opts)));
  }

  private async update(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const opts = writeOptionsOf("Update", r.query);
    const obj = this.decodeFor(r, await readJson(req, r.def), opts, res);
    if (obj.metadata?.name !== r.name)
      throw badRequest(`the name of the object (${obj.metadata?.name ?? ""}) does not match the name on the URL (${r.name})`);
    this.send(res, 200, objectToJson(await this.deps.service.update(obj, r.subresource === "status" ? "status" : "", opts)));
  }

  private async patch(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const { def } = r;
    const sub = r.subresource === "status" ? "status" : "";
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
    const body = await readBody(req);
    if (type === "application/merge-patch+json") {
      const patch = parseMergePatch(body);
      return this.send(
        res,
        200,
        objectToJson(await this.patchJson(res, r, sub, (cur) => applyMergePatch(cur, patch), pinnedResourceVersion(patch))),
      );
    }
    if (type === "application/strategic-merge-patch+json") {
      const patch = parseJson(body);
      if (!patch || typeof patch !== "object" || Array.isArray(patch)) throw badRequest("a strategic merge patch must be a JSON object");
      return this.send(
        res,
        200,
        objectToJson(await this.patchJson(res, r, sub, (cur) => strategicPatch(def, cur, patch as Record<string, unknown>))),
      );
    }
    if (type === "application/json-patch+json") {
      const ops = parseJson(body);
      if (!Array.isArray(ops)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
      return this.send(res, 200, objectToJson(await this.patchJson(res, r, sub, (cur) => applyJsonPatch(cur, ops))));
    }
    throw unsupportedMediaType(["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"]);
  }

  /** A JSON or strategic merge patch through the object service's one patch path, its strict decoding worded as kube-apiserver's. */
  private async patchJson(
    res: Res,
    r: ResourceRequest,
    sub: "" | "status",
    apply: (cur: Record<string, unknown>) => unknown,
    pinnedRV = "",
  ): Promise<KubeObject> {
    const opts = writeOptionsOf("Patch", r.query);
    const droppedFields = opts.fieldValidation === "Strict" ? undefined : [];
    let patched: KubeObject;
    try {
      patched = await this.deps.service.patchJson(r.def, r.namespace, r.name, apply, sub, {
        dryRun: opts.dryRun,
        droppedFields,
        pinnedResourceVersion: pinnedRV,
      });
    } catch (e) {
      throw strictDecodingError(r.def, e);
    }
    if (opts.fieldValidation === "Warn" && droppedFields?.length) res.setHeader("Warning", unknownFieldWarnings(droppedFields));
    return patched;
  }

  private async delete(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const opts = await deleteOptions(req, r.query);
    const { obj, removed } = await this.deps.service.delete(r.def, r.namespace, r.name, opts);
    if (!removed) return this.send(res, 200, objectToJson(obj));
    this.send(res, 200, deletedStatus({ name: r.name, group: groupOf(r.def), kind: r.def.resource, uid: obj.metadata?.uid ?? "" }));
  }

  /** deletecollection: every object the selectors match, each deleted as a DELETE would. */
  private async deleteCollection(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const opts = await deleteOptions(req, r.query);
    const page = await this.deps.service.list(r.def, {
      namespace: r.namespace,
      labelSelector: r.query.get("labelSelector") ?? "",
      fieldSelector: r.query.get("fieldSelector") ?? "",
      limit: 0,
      continue: "",
      pageMaxBytes: HTTP_PAGE_MAX_BYTES,
      unpagedMaxBytes: 8 * MAX_UNPAGED_RESPONSE_BYTES,
    });
    const deleted: KubeObject[] = [];
    for (const e of page.entries) {
      const m = e.obj.metadata!;
      try {
        deleted.push((await this.deps.service.delete(r.def, m.namespace, m.name, opts)).obj);
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === "NotFound")) throw err;
      }
    }
    this.send(res, 200, {
      kind: `${r.def.kind}List`,
      apiVersion: r.def.apiVersion,
      metadata: {},
      items: deleted.map((o) => objectToJson(o)),
    });
  }

  // --- subresources

  private async scale(req: Req, res: Res, method: string, r: ResourceRequest): Promise<void> {
    const resource = r.def.resource;
    const scaleJson = (s: Scale) => toJson(ScaleSchema, s) as Record<string, unknown>;
    if (method === "GET") return this.send(res, 200, scaleJson(await getScale(this.deps.service, resource, r.namespace, r.name)));
    let next: Scale;
    if (method === "PUT") {
      next = fromJson(ScaleSchema, (await readJson(req, SCALE_BODY)) as never, { ignoreUnknownFields: false });
    } else if (method === "PATCH") {
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim();
      const cur = scaleJson(await getScale(this.deps.service, resource, r.namespace, r.name));
      const body = parseJson(await readBody(req));
      let patched: unknown;
      // A Scale has no lists: its strategic merge patch is a merge patch.
      if (type === "application/merge-patch+json" || type === "application/strategic-merge-patch+json") {
        if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("a merge patch must be a JSON object");
        patched = applyMergePatch(cur, body as Record<string, unknown>);
      } else if (type === "application/json-patch+json" && Array.isArray(body)) patched = applyJsonPatch(cur, body);
      else
        throw unsupportedMediaType([
          "application/json-patch+json",
          "application/merge-patch+json",
          "application/strategic-merge-patch+json",
        ]);
      next = fromJson(ScaleSchema, patched as never);
      // A patch applies to the current object, whatever version the client read.
      if (next.metadata) next.metadata.resourceVersion = "";
    } else {
      throw methodNotAllowed();
    }
    next.metadata = { ...next.metadata!, name: r.name, namespace: r.namespace };
    const { dryRun } = writeOptionsOf(method === "PUT" ? "Update" : "Patch", r.query);
    this.send(res, 200, scaleJson(await updateScale(this.deps.service, resource, next, { dryRun })));
  }

  private async logs(_req: Req, res: Res, r: ResourceRequest): Promise<void> {
    const q = r.query;
    const int = (k: string) => (q.get(k) === null ? undefined : BigInt(Number(q.get(k))));
    const { upstream } = await this.deps.kubelets.openLogs(
      create(PodLogOptionsSchema, {
        namespace: r.namespace,
        name: r.name,
        container: q.get("container") ?? "",
        follow: isTrue(q.get("follow")),
        previous: isTrue(q.get("previous")),
        timestamps: isTrue(q.get("timestamps")),
        tailLines: int("tailLines"),
        sinceSeconds: int("sinceSeconds"),
      }),
    );
    let started = false;
    upstream.on("data", (chunk: { data: Uint8Array }) => {
      if (!started) {
        started = true;
        res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
      }
      if (!res.write(chunk.data)) upstream.pause();
    });
    res.on("drain", () => upstream.resume());
    res.on("close", () => upstream.cancel());
    upstream.on("end", () => {
      if (!started) res.writeHead(200, { "content-type": "text/plain" });
      res.end();
    });
    upstream.on("error", (e: Error & { code?: number }) => {
      if (started) return void res.end();
      this.sendStatus(res, toApiError(e));
    });
  }

  private async binding(req: Req, res: Res, r: ResourceRequest): Promise<void> {
    if (writeOptionsOf("Create", r.query).dryRun) throw badRequest("dryRun is not supported for pods/binding here");
    const body = (await readJson(req, BINDING_BODY)) as { target?: { name?: string }; metadata?: { uid?: string } };
    if (!body.target?.name) throw badRequest("target.name: Required value");
    await bindPod(this.deps.service, r.namespace, r.name, body.target.name, body.metadata?.uid ?? "");
    this.send(res, 201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
  }

  /**
   * /openapi/v3 (the root: each group version's document and its hash), /openapi/v3/GROUP-PATH
   * and /openapi/v2, as kube-openapi serves them: JSON, an ETag, 304 for a matching If-None-Match,
   * a redirect from an old ?hash= to the current one, immutable caching for the current hash, and
   * 406 for a client that takes only protobuf (client-go's /openapi/v2 asks for that alone).
   */
  private openApi(req: Req, res: Res, url: URL): void {
    const served =
      url.pathname === "/openapi/v2"
        ? servedOpenApiV2()
        : url.pathname === "/openapi/v3"
          ? servedOpenApiV3Root()
          : servedOpenApiV3(url.pathname.slice("/openapi/v3/".length));
    if (!served) throw notFoundResource(url.pathname);
    const accept = req.headers.accept ?? "";
    if (accept && !/application\/json|application\/\*|\*\/\*/.test(accept)) throw notAcceptable(["application/json"]);
    const etag = `"${served.hash}"`;
    const askedHash = url.searchParams.get("hash");
    if (askedHash && askedHash !== served.hash && url.pathname !== "/openapi/v3") {
      res.writeHead(301, { location: `${url.pathname}?hash=${served.hash}` }).end();
      return;
    }
    const headers: Record<string, string> = { "content-type": "application/json", etag, vary: "Accept" };
    if (askedHash)
      Object.assign(headers, { "cache-control": "public, immutable", expires: new Date(Date.now() + 365 * 86_400_000).toUTCString() });
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, "content-length": String(Buffer.byteLength(served.body)) });
    res.end(served.body);
  }

  // --- helpers

  /** The request's object, of the URL's kind and in the URL's namespace (Kubernetes' checks and words). */
  /**
   * The object a create or update sends, decoded as its fieldValidation says: Strict refuses
   * unknown fields, Warn drops them with a Warning header each, Ignore drops them.
   */
  private decodeFor(r: ResourceRequest, json: unknown, opts: HttpWriteOptions, res: Res): KubeObject {
    const o = json as { apiVersion?: string; kind?: string; metadata?: { namespace?: string } } | null;
    if (o && typeof o === "object") {
      if (o.apiVersion && o.apiVersion !== r.def.apiVersion)
        throw badRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${r.def.apiVersion})`);
      if (o.kind && o.kind !== r.def.kind)
        throw badRequest(`the kind in the data (${o.kind}) does not match the expected kind (${r.def.kind})`);
    }
    let obj: KubeObject;
    try {
      const decoded = decodeObject(
        { apiVersion: r.def.apiVersion, kind: r.def.kind, ...(o as object) },
        { dropUnknownFields: opts.fieldValidation !== "Strict" },
      );
      obj = decoded.obj;
      if (opts.fieldValidation === "Warn" && decoded.unknownFields.length)
        res.setHeader("Warning", unknownFieldWarnings(decoded.unknownFields));
    } catch (e) {
      throw strictDecodingError(r.def, e);
    }
    if (r.def.namespaced) {
      const m = obj.metadata!;
      if (!m.namespace) m.namespace = r.namespace;
      else if (r.namespace && m.namespace !== r.namespace)
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    return obj;
  }

  /** Aggregated discovery, in its own media type (client-go reads the answer's type to tell it from the legacy form). */
  private sendDiscovery(res: Res, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { "content-type": AGGREGATED_DISCOVERY_TYPE, "content-length": Buffer.byteLength(text), vary: "Accept" });
    res.end(text);
  }

  private send(res: Res, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private sendStatus(res: Res, err: ApiError): void {
    if (res.headersSent) return void res.end();
    const status = statusOfError(err);
    this.send(res, status.code, status);
  }
}

function withResourceVersion(obj: KubeObject, rev: number): KubeObject {
  if (obj.metadata?.resourceVersion === String(rev)) return obj;
  return { ...obj, metadata: { ...obj.metadata!, resourceVersion: String(rev) } } as KubeObject;
}

function readBody(req: Req): Promise<string> {
  return readBytes(req).then((bytes) => bytes.toString("utf8"));
}

/** A request's body as it came, refused past MAX_BODY_BYTES. */
function readBytes(req: Req): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(bodyTooLarge(MAX_BODY_BYTES));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** What a request's body should hold: the kind, and its message if it has one here (Go's empty fields are pruned against it). */
interface BodyKind {
  apiVersion: string;
  kind: string;
  schema?: DescMessage;
}

const SCALE_BODY: BodyKind = { apiVersion: "autoscaling/v1", kind: "Scale", schema: ScaleSchema };
const BINDING_BODY: BodyKind = { apiVersion: "v1", kind: "Binding" };
const DELETE_OPTIONS_BODY: BodyKind = { apiVersion: "meta.k8s.io/v1", kind: "DeleteOptions" };

/**
 * A request's body as Kubernetes' JSON, from either media type kube-apiserver takes for it (YAML
 * aside): JSON, or Kubernetes' protobuf, which client-go's typed clients send (`kubectl create
 * configmap|secret|deployment|namespace|job|service`). A protobuf body is decoded into the JSON a
 * JSON client would have sent, less the empty fields Go writes that `expected`'s message does not
 * have, so it goes through the same strict decoding, validation and storage as a JSON body.
 */
async function readJson(req: Req, expected: BodyKind): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "application/json").split(";")[0]!.trim();
  if (type === KUBERNETES_PROTOBUF) return fromProtobuf(await readBytes(req), expected);
  if (type !== "application/json" && type !== "*/*") throw unsupportedMediaType(["application/json", KUBERNETES_PROTOBUF]);
  return parseJson(await readBody(req));
}

function fromProtobuf(body: Uint8Array, expected: BodyKind): unknown {
  try {
    const { kind, object } = decodeKubernetesProtobuf(body, expected);
    // Another kind is refused by name after this (decodeFor), not by its fields.
    return expected.schema && kind === expected.kind ? pruneEmptyUnknownFields(expected.schema, object) : object;
  } catch (e) {
    if (e instanceof KubernetesProtobufError) throw undecodableBody(expected.kind, e.message, e.sent, body);
    throw e;
  }
}

function applyJsonPatch(doc: Record<string, unknown>, ops: unknown[]): unknown {
  try {
    return jsonPatch.applyPatch(structuredClone(doc), ops as jsonPatch.Operation[], true, false).newDocument;
  } catch (e) {
    throw invalidPatch((e as Error).message);
  }
}

/**
 * kube-apiserver's words for a body its decoder refuses, a BadRequest (not Invalid): an ill-typed
 * value such as a bad quantity, or under fieldValidation=Strict an unknown field. Any other error as it is.
 */
function strictDecodingError(def: KindDefinition, e: unknown): unknown {
  if (!(e instanceof DecodeError)) return e;
  const [, version = def.apiVersion] = def.apiVersion.split("/");
  const why = e.unknownFields.length
    ? `strict decoding error: ${e.unknownFields.map((f) => `unknown field "${f}"`).join(", ")}`
    : e.decoderMessage;
  return why === undefined ? e : badRequest(`${def.kind} in version "${version}" cannot be handled as a ${def.kind}: ${why}`);
}

/** A strategic merge patch of the object's JSON; a malformed patch is the client's mistake. */
function strategicPatch(def: KindDefinition, cur: Record<string, unknown>, patch: Record<string, unknown>): unknown {
  try {
    return applyStrategicMergePatch(def, cur as never, patch as never);
  } catch (e) {
    if (e instanceof StrategicMergePatchError) throw e.reason === "Invalid" ? invalidPatch(e.message) : badRequest(e.message);
    throw e;
  }
}

/** DeleteOptions from the body (kubectl sends them there) or the query. */
async function deleteOptions(req: Req, q: URLSearchParams) {
  const type = (req.headers["content-type"] ?? "application/json").split(";")[0]!.trim();
  // client-go's typed clients send DeleteOptions in protobuf, as their other bodies.
  const raw = type === KUBERNETES_PROTOBUF ? await readBytes(req) : undefined;
  const text = raw ? "" : await readBody(req);
  const body = (raw?.length ? fromProtobuf(raw, DELETE_OPTIONS_BODY) : text.trim() ? parseJson(text) : {}) as {
    gracePeriodSeconds?: number;
    propagationPolicy?: string;
    preconditions?: { uid?: string; resourceVersion?: string };
    dryRun?: string[];
  };
  const query = new URLSearchParams(q);
  for (const v of body.dryRun ?? []) query.append("dryRun", v);
  const grace = body.gracePeriodSeconds ?? (q.get("gracePeriodSeconds") !== null ? Number(q.get("gracePeriodSeconds")) : undefined);
  const policy = body.propagationPolicy ?? q.get("propagationPolicy") ?? undefined;
  return {
    gracePeriodSeconds: grace,
    uid: body.preconditions?.uid || undefined,
    resourceVersion: body.preconditions?.resourceVersion || undefined,
    propagationPolicy: policy,
    dryRun: writeOptionsOf("Delete", query).dryRun,
  };
}
