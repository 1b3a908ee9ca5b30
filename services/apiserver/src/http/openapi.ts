import { createHash } from "node:crypto";
import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import {
  allKinds,
  apiResources,
  patchStrategyOf,
  quantityFields,
  resourceNameInGroup,
  ScaleSchema,
  type KindDefinition,
} from "@kubelab/api";
import { KUBERNETES_VERSION } from "./discoveryDocs.js";

// Kubernetes' OpenAPI documents, generated from the kinds' protobuf descriptors: /openapi/v3 (a
// root listing one document per group version) and /openapi/v2 (one Swagger 2.0 document). kubectl
// reads the v3 ones three ways, and each shapes something here:
//  - field validation: a PATCH operation carrying the object's x-kubernetes-group-version-kind and
//    a `fieldValidation` query parameter among its own parameters (cli-runtime's
//    queryParamVerifierV3) makes kubectl send ?fieldValidation=Strict instead of validating itself;
//  - `kubectl explain`: an operation on the resource's path names the GVK, a component schema
//    lists that GVK in x-kubernetes-group-version-kind (a list), and fields are followed by $ref;
//  - `kubectl apply`: a PATCH that takes application/strategic-merge-patch+json lets kubectl build
//    the strategic merge patch from the schemas' x-kubernetes-patch-strategy and -merge-key.
// Descriptions are left out: the runtime descriptors carry no comments (nor do most of the protos).

/** A JSON Schema or OpenAPI object, as it is serialized. */
export type OpenApiObject = { readonly [key: string]: unknown };

/** /openapi/v3: where each group version's document is, keyed "api/v1", "apis/apps/v1". */
export interface OpenApiV3Root {
  readonly paths: { readonly [path: string]: { readonly serverRelativeURL: string } };
}

/** A document as the HTTP API sends it: its JSON, and the hash that is its ETag and its URL's `hash`. */
export interface ServedOpenApi {
  readonly body: string;
  readonly hash: string;
}

/** The /openapi/v3 root. */
export function openApiV3Root(): OpenApiV3Root {
  return documents().root.doc as unknown as OpenApiV3Root;
}

/** The OpenAPI 3.0 document of one group version ("v1", "apps/v1"); undefined for one not served. */
export function openApiV3For(groupVersion: string): OpenApiObject | undefined {
  return documents().v3.get(openApiV3PathOf(groupVersion))?.doc;
}

/** The Swagger 2.0 document of every group version, for clients that still ask /openapi/v2. */
export function openApiV2(): OpenApiObject {
  return documents().v2.doc;
}

export function servedOpenApiV3Root(): ServedOpenApi {
  return documents().root.served;
}

/** What /openapi/v3/{path} serves, by the root's key ("api/v1", "apis/apps/v1"); undefined for another path. */
export function servedOpenApiV3(path: string): ServedOpenApi | undefined {
  return documents().v3.get(path)?.served;
}

export function servedOpenApiV2(): ServedOpenApi {
  return documents().v2.served;
}

/** The root's key of a group version: "v1" → "api/v1", "apps/v1" → "apis/apps/v1". */
export function openApiV3PathOf(groupVersion: string): string {
  return groupVersion.includes("/") ? `apis/${groupVersion}` : `api/${groupVersion}`;
}

/**
 * Kubernetes' schema name of one of our messages, by its proto package: kubelab.meta.v1 is
 * apimachinery's meta/v1, kubelab.metrics.v1beta1 is metrics-server's, and every other
 * kubelab.GROUP.VERSION is k8s.io/api's GROUP/VERSION ("kubelab.core.v1.Pod" → "io.k8s.api.core.v1.Pod").
 */
export function schemaNameOf(typeName: string): string {
  const m = /^kubelab\.([a-z0-9]+)\.(v[a-z0-9]+)\.(\w+)$/.exec(typeName);
  if (!m) throw new Error(`no Kubernetes schema name for message ${typeName}`);
  const [, pkg, version, name] = m;
  if (pkg === "meta") return `io.k8s.apimachinery.pkg.apis.meta.${version}.${name}`;
  if (pkg === "metrics") return `io.k8s.metrics.pkg.apis.metrics.${version}.${name}`;
  return `io.k8s.api.${pkg}.${version}.${name}`;
}

// --- the documents, built once per registry

interface Built {
  doc: OpenApiObject;
  served: ServedOpenApi;
}

interface Documents {
  /** The registry the documents were built from: they are rebuilt if a kind is added later. */
  registry: string;
  root: Built;
  v3: Map<string, Built>;
  v2: Built;
}

let cache: Documents | undefined;

function documents(): Documents {
  const registry = allKinds()
    .map((k) => `${k.apiVersion}/${k.kind}`)
    .join(",");
  if (cache?.registry === registry) return cache;
  const v3 = new Map<string, Built>();
  for (const gv of groupVersions()) v3.set(openApiV3PathOf(gv), built(v3Document(gv)));
  const paths = Object.fromEntries(
    [...v3].map(([path, { served }]) => [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${served.hash}` }]),
  );
  cache = { registry, root: built({ paths }), v3, v2: built(v2Document()) };
  return cache;
}

/** Frozen, since every caller shares it; hashed as kube-openapi hashes it (SHA-512 of the JSON, upper-case hex). */
function built(doc: OpenApiObject): Built {
  const body = JSON.stringify(deepFreeze(doc));
  return { doc, served: { body, hash: createHash("sha512").update(body).digest("hex").toUpperCase() } };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

const groupVersions = () => [...new Set(allKinds().map((k) => k.apiVersion))];

const info = () => ({ title: "Kubernetes", version: `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.0` });

function v3Document(groupVersion: string): OpenApiObject {
  const schemas = new SchemaSet("v3");
  const paths: Record<string, OpenApiObject> = {};
  for (const def of allKinds().filter((k) => k.apiVersion === groupVersion)) {
    for (const p of resourcePaths(def)) paths[p.path] = v3PathItem(p, schemas);
  }
  return { openapi: "3.0.0", info: info(), paths, components: { schemas: schemas.sorted() } };
}

function v2Document(): OpenApiObject {
  const schemas = new SchemaSet("v2");
  const paths: Record<string, OpenApiObject> = {};
  for (const def of allKinds()) {
    for (const p of resourcePaths(def)) paths[p.path] = v2PathItem(p, schemas);
  }
  return { swagger: "2.0", info: info(), paths, definitions: schemas.sorted() };
}

// --- schemas

type Flavor = "v2" | "v3";
type Schema = Record<string, unknown>;

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

const gvkOf = (apiVersion: string, kind: string): Gvk => {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return { group: group!, version: version!, kind };
};

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;
const LIST_META = `${META}.ListMeta`;
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";

/**
 * apimachinery's types that have no message here, as kube-openapi publishes them: v3 gives
 * Quantity and IntOrString their alternatives in oneOf (so kubectl explain names them, as it does
 * for kube-apiserver), Swagger 2.0 a string with a format.
 */
function apimachinerySchema(name: string, flavor: Flavor): Schema {
  switch (name) {
    case TIME:
    case MICRO_TIME:
      return { type: "string", format: "date-time" };
    case QUANTITY:
      return flavor === "v3" ? { oneOf: [{ type: "string" }, { type: "number" }] } : { type: "string" };
    case INT_OR_STRING:
      return flavor === "v3"
        ? { format: "int-or-string", oneOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true }
        : { type: "string", format: "int-or-string" };
    case LIST_META:
      return {
        type: "object",
        properties: {
          continue: { type: "string" },
          remainingItemCount: { type: "integer", format: "int64" },
          resourceVersion: { type: "string" },
        },
      };
    default:
      throw new Error(`no apimachinery schema ${name}`);
  }
}

/** Fields Kubernetes types metav1.MicroTime; other time fields are metav1.Time. */
const MICRO_TIME_FIELDS = new Set([
  "kubelab.core.v1.Event.event_time",
  "kubelab.coordination.v1.LeaseSpec.acquire_time",
  "kubelab.coordination.v1.LeaseSpec.renew_time",
]);

/**
 * Our protos carry Kubernetes' timestamps as RFC 3339 strings, named as Kubernetes names them
 * (creationTimestamp, lastTransitionTime, startTime, a metrics sample's timestamp).
 */
const isTimeField = (jsonName: string) => jsonName === "timestamp" || /(Time|Timestamp)$/.test(jsonName);

/**
 * The component schemas of one document, collected as the paths reference them: each message's
 * schema and every schema it reaches, under Kubernetes' names.
 */
class SchemaSet {
  private readonly schemas = new Map<string, Schema>();

  constructor(private readonly flavor: Flavor) {}

  sorted(): Record<string, Schema> {
    return Object.fromEntries([...this.schemas].sort(([a], [b]) => a.localeCompare(b)));
  }

  ref(name: string): Schema {
    return { $ref: `${this.flavor === "v3" ? "#/components/schemas/" : "#/definitions/"}${name}` };
  }

  /** A kind's schema, marked with its GVK as kube-apiserver marks it (a list: kubectl looks for the GVK in it). */
  kind(schema: DescMessage, gvk: Gvk): Schema {
    const ref = this.message(schema);
    const s = this.schemas.get(schemaNameOf(schema.typeName))!;
    const gvks = (s["x-kubernetes-group-version-kind"] ??= []) as Gvk[];
    if (!gvks.some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind)) gvks.push(gvk);
    return ref;
  }

  /** The KindList a list returns: items of the kind, with ListMeta. */
  list(def: KindDefinition): Schema {
    const name = `${schemaNameOf(def.schema.typeName)}List`;
    if (!this.schemas.has(name)) {
      this.schemas.set(name, {
        type: "object",
        required: ["items"],
        properties: {
          apiVersion: { type: "string" },
          items: { type: "array", items: this.kind(def.schema, gvkOf(def.apiVersion, def.kind)) },
          kind: { type: "string" },
          metadata: this.apimachinery(LIST_META),
        },
        "x-kubernetes-group-version-kind": [gvkOf(def.apiVersion, `${def.kind}List`)],
      });
    }
    return this.ref(name);
  }

  /** A message's schema (added with everything it references), as a $ref. */
  message(schema: DescMessage): Schema {
    const name = schemaNameOf(schema.typeName);
    if (!this.schemas.has(name)) {
      const properties: Record<string, Schema> = {};
      // Set before the fields are walked: a message may reach itself.
      this.schemas.set(name, { type: "object", properties });
      for (const f of schema.fields) properties[f.jsonName] = this.field(schema, f);
    }
    return this.ref(name);
  }

  private apimachinery(name: string): Schema {
    if (!this.schemas.has(name)) this.schemas.set(name, apimachinerySchema(name, this.flavor));
    return this.ref(name);
  }

  private field(parent: DescMessage, f: DescField): Schema {
    const key = `${parent.typeName}.${f.name}`;
    let s: Schema;
    switch (f.fieldKind) {
      case "scalar":
        s = this.scalar(f.scalar, key, f.jsonName);
        break;
      case "enum":
        s = { type: "string" };
        break;
      case "message":
        s = this.messageOrWellKnown(f.message);
        break;
      case "list":
        s = {
          type: "array",
          items:
            f.listKind === "scalar"
              ? this.scalar(f.scalar, key, f.jsonName)
              : f.listKind === "enum"
                ? { type: "string" }
                : this.messageOrWellKnown(f.message),
        };
        break;
      case "map":
        s = {
          type: "object",
          additionalProperties:
            f.mapKind === "scalar"
              ? this.scalar(f.scalar, key, "")
              : f.mapKind === "enum"
                ? { type: "string" }
                : this.messageOrWellKnown(f.message),
        };
        break;
    }
    const strategy = patchStrategyOf(parent.typeName, f.jsonName);
    if (!strategy) return s;
    const ext: Schema = { "x-kubernetes-patch-strategy": strategy.strategy };
    if (strategy.mergeKey) ext["x-kubernetes-patch-merge-key"] = strategy.mergeKey;
    // OpenAPI 3.0 ignores whatever sits beside a $ref: kube-openapi wraps such a reference in allOf.
    if ("$ref" in s && this.flavor === "v3") return { allOf: [s], ...ext };
    return { ...s, ...ext };
  }

  private messageOrWellKnown(schema: DescMessage): Schema {
    switch (schema.typeName) {
      case "google.protobuf.Value":
        // Our IntOrString (pod.proto): a port number or name, a count or a percentage.
        return this.apimachinery(INT_OR_STRING);
      case "google.protobuf.Timestamp":
        return this.apimachinery(TIME);
      default:
        if (schema.typeName.startsWith("google.protobuf.")) return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
        return this.message(schema);
    }
  }

  /** A scalar; `key` is the field's full proto name, `jsonName` empty for a map's values. */
  private scalar(type: ScalarType, key: string, jsonName: string): Schema {
    switch (type) {
      case ScalarType.STRING:
        if (quantityFields.has(key)) return this.apimachinery(QUANTITY);
        if (jsonName && MICRO_TIME_FIELDS.has(key)) return this.apimachinery(MICRO_TIME);
        if (jsonName && isTimeField(jsonName)) return this.apimachinery(TIME);
        return { type: "string" };
      case ScalarType.BOOL:
        return { type: "boolean" };
      case ScalarType.BYTES:
        return { type: "string", format: "byte" };
      case ScalarType.INT32:
      case ScalarType.SINT32:
      case ScalarType.SFIXED32:
        return { type: "integer", format: "int32" };
      case ScalarType.FLOAT:
        return { type: "number", format: "float" };
      case ScalarType.DOUBLE:
        return { type: "number", format: "double" };
      default:
        // uint32 does not fit int32; the 64-bit kinds are Kubernetes' int64.
        return { type: "integer", format: "int64" };
    }
  }
}

// --- paths

type Verb = "get" | "list" | "create" | "update" | "patch" | "delete" | "deletecollection";

/**
 * Each verb's HTTP method, x-kubernetes-action (as kube-apiserver's installer names it) and the
 * verb of its operationId (readCoreV1NamespacedPod, replaceAppsV1NamespacedDeploymentScale).
 */
const VERBS: Record<Verb, { method: "get" | "put" | "post" | "patch" | "delete"; action: string; operationVerb: string }> = {
  get: { method: "get", action: "get", operationVerb: "read" },
  list: { method: "get", action: "list", operationVerb: "list" },
  create: { method: "post", action: "post", operationVerb: "create" },
  update: { method: "put", action: "put", operationVerb: "replace" },
  patch: { method: "patch", action: "patch", operationVerb: "patch" },
  delete: { method: "delete", action: "delete", operationVerb: "delete" },
  deletecollection: { method: "delete", action: "deletecollection", operationVerb: "delete" },
};

interface QueryParameter {
  type: "string" | "integer" | "boolean";
  description: string;
}

/** The query parameters the operations take, in Kubernetes' words, shortened. */
const QUERY: Record<string, QueryParameter> = {
  allowWatchBookmarks: { type: "boolean", description: "allowWatchBookmarks requests watch events with type BOOKMARK." },
  continue: { type: "string", description: "The continue option from a previous list, to retrieve the next page of results." },
  fieldSelector: { type: "string", description: "A selector to restrict the list of returned objects by their fields." },
  labelSelector: { type: "string", description: "A selector to restrict the list of returned objects by their labels." },
  limit: { type: "integer", description: "The maximum number of responses to return for a list call." },
  resourceVersion: {
    type: "string",
    description: "resourceVersion sets a constraint on what resource versions a request may be served from.",
  },
  timeoutSeconds: { type: "integer", description: "Timeout for the list/watch call." },
  watch: {
    type: "boolean",
    description: "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
  },
  dryRun: { type: "string", description: "When present, indicates that modifications should not be persisted. Valid value: All." },
  fieldManager: { type: "string", description: "fieldManager is a name associated with the actor or entity that is making these changes." },
  fieldValidation: {
    type: "string",
    description:
      "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values: Ignore, Warn, Strict.",
  },
  gracePeriodSeconds: { type: "integer", description: "The duration in seconds before the object should be deleted." },
  propagationPolicy: {
    type: "string",
    description: "Whether and how garbage collection will be performed: Orphan, Background or Foreground.",
  },
  container: {
    type: "string",
    description: "The container for which to stream logs. Defaults to only container if there is one container in the pod.",
  },
  follow: { type: "boolean", description: "Follow the log stream of the pod." },
  previous: { type: "boolean", description: "Return previous terminated container logs." },
  sinceSeconds: { type: "integer", description: "A relative time in seconds before the current time from which to show logs." },
  tailLines: { type: "integer", description: "The number of lines from the end of the logs to show." },
  timestamps: { type: "boolean", description: "Add an RFC3339 timestamp at the beginning of every line of log output." },
};

const WRITE_QUERY = ["dryRun", "fieldManager", "fieldValidation"];
const DELETE_QUERY = ["dryRun", "gracePeriodSeconds", "propagationPolicy"];

const QUERY_OF: Record<Verb, readonly string[]> = {
  get: [],
  list: ["allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion", "timeoutSeconds", "watch"],
  create: WRITE_QUERY,
  update: WRITE_QUERY,
  patch: WRITE_QUERY,
  delete: DELETE_QUERY,
  deletecollection: ["fieldSelector", "labelSelector", ...DELETE_QUERY],
};

/** The patch media types of a stored kind; server-side apply (application/apply-patch+yaml) is not served. */
const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"];

/** Subresource kinds that are not kinds of the registry (deployments/scale is autoscaling/v1 Scale). */
const SUBRESOURCE_KINDS: Record<string, { schema: DescMessage; apiVersion: string }> = {
  Scale: { schema: ScaleSchema, apiVersion: "autoscaling/v1" },
};

interface Operation {
  verb: Verb;
  operationId: string;
  description: string;
  gvk: Gvk;
  /** The message the operation reads and writes (the kind's, or Scale's). */
  schema: DescMessage;
  /** The kind's definition, for list responses. */
  def: KindDefinition;
  query: readonly string[];
  /** The log subresource answers text. */
  text?: boolean;
}

interface ResourcePath {
  path: string;
  /** Path parameters, in the path's order. */
  params: Array<"namespace" | "name">;
  kind: string;
  ops: Operation[];
}

const camel = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** CoreV1, AppsV1, CoordinationV1, MetricsV1beta1: the group version in operationIds. */
function operationGroupVersion(apiVersion: string): string {
  const { group, version } = gvkOf(apiVersion, "");
  const groupWords = group ? group.replace(/\.k8s\.io$/, "").split(".") : ["core"];
  return groupWords.map(camel).join("") + camel(version);
}

/**
 * A kind's paths as kube-apiserver lays them out: the collection and the object
 * (/api/v1/namespaces/{namespace}/pods[/{name}], /api/v1/nodes[/{name}]), the list across
 * namespaces (/api/v1/pods), and the object's subresources, with the verbs discovery lists.
 */
function resourcePaths(def: KindDefinition): ResourcePath[] {
  const prefix = def.apiVersion.includes("/") ? `/apis/${def.apiVersion}` : `/api/${def.apiVersion}`;
  const resource = resourceNameInGroup(def);
  const gvk = gvkOf(def.apiVersion, def.kind);
  const { group, version } = gvk;
  const discovered = apiResources().filter((r) => r.group === group && r.version === version);
  const main = discovered.find((r) => r.name === resource);
  if (!main) return [];
  const scope = def.namespaced ? "/namespaces/{namespace}" : "";
  const nsParams: ResourcePath["params"] = def.namespaced ? ["namespace"] : [];
  const gv = operationGroupVersion(def.apiVersion);
  const namespaced = def.namespaced ? "Namespaced" : "";

  const op = (verb: Verb, opts: { sub?: string; gvk?: Gvk; schema?: DescMessage; allNamespaces?: boolean } = {}): Operation => {
    const sub = opts.sub ?? "";
    const collection = verb === "deletecollection" ? "Collection" : "";
    const scoped = opts.allNamespaces ? "" : namespaced;
    const forAll = opts.allNamespaces ? "ForAllNamespaces" : "";
    const the = sub ? `${sub} of the specified ${def.kind}` : `the specified ${def.kind}`;
    const description = {
      get: `read ${the}`,
      list: `list or watch objects of kind ${def.kind}`,
      create: `create a ${def.kind}`,
      update: `replace ${the}`,
      patch: `partially update ${the}`,
      delete: `delete a ${def.kind}`,
      deletecollection: `delete collection of ${def.kind}`,
    }[verb];
    return {
      verb,
      operationId: `${VERBS[verb].operationVerb}${gv}${collection}${scoped}${def.kind}${camel(sub)}${forAll}`,
      description,
      gvk: opts.gvk ?? gvk,
      schema: opts.schema ?? def.schema,
      def,
      query: sub === "log" ? ["container", "follow", "previous", "sinceSeconds", "tailLines", "timestamps"] : QUERY_OF[verb],
      text: sub === "log",
    };
  };
  const has = (verbs: readonly string[], ...vs: Verb[]) => vs.filter((v) => verbs.includes(v));

  const collectionPath = `${prefix}${scope}/${resource}`;
  const itemPath = `${collectionPath}/{name}`;
  const paths: ResourcePath[] = [
    {
      path: collectionPath,
      params: nsParams,
      kind: def.kind,
      ops: has(main.verbs, "list", "create", "deletecollection").map((v) => op(v)),
    },
    {
      path: itemPath,
      params: [...nsParams, "name"],
      kind: def.kind,
      ops: has(main.verbs, "get", "update", "patch", "delete").map((v) => op(v)),
    },
  ];
  if (def.namespaced && main.verbs.includes("list")) {
    paths.push({ path: `${prefix}/${resource}`, params: [], kind: def.kind, ops: [op("list", { allNamespaces: true })] });
  }
  for (const r of discovered) {
    if (!r.name.startsWith(`${resource}/`)) continue;
    const sub = r.name.slice(resource.length + 1);
    let target: { gvk: Gvk; schema: DescMessage } | undefined;
    if (r.kind === def.kind) {
      target = { gvk, schema: def.schema };
    } else if (SUBRESOURCE_KINDS[r.kind]) {
      const k = SUBRESOURCE_KINDS[r.kind]!;
      target = { gvk: gvkOf(k.apiVersion, r.kind), schema: k.schema };
    }
    // pods/binding (a Binding, which has no message here) is left out.
    if (!target) continue;
    const ops = has(r.verbs, "get", "update", "patch").map((v) => op(v, { sub, ...target }));
    paths.push({ path: `${itemPath}/${sub}`, params: [...nsParams, "name"], kind: def.kind, ops });
  }
  return paths.filter((p) => p.ops.length > 0);
}

const operationTag = (gvk: Gvk) => `${gvk.group ? gvk.group.replace(/\.k8s\.io$/, "").replaceAll(".", "_") : "core"}_${gvk.version}`;

const pathParamDescription = (param: "namespace" | "name", kind: string) =>
  param === "namespace" ? "object name and auth scope, such as for teams and projects" : `name of the ${kind}`;

/** The schema an operation answers with: the object, its kind's List, or log text. */
function responseSchema(op: Operation, schemas: SchemaSet): Schema {
  if (op.text) return { type: "string" };
  if (op.verb === "list" || op.verb === "deletecollection") return schemas.list(op.def);
  return schemas.kind(op.schema, op.gvk);
}

const requestBody = (op: Operation) => op.verb === "create" || op.verb === "update" || op.verb === "patch";

function v3PathItem(p: ResourcePath, schemas: SchemaSet): OpenApiObject {
  const item: Record<string, unknown> = {};
  for (const op of p.ops) {
    const response = responseSchema(op, schemas);
    const content = { [op.text ? "text/plain" : "application/json"]: { schema: response } };
    const responses: Record<string, unknown> = { "200": { description: "OK", content } };
    if (op.verb === "create") responses["201"] = { description: "Created", content };
    const o: Record<string, unknown> = {
      tags: [operationTag(op.gvk)],
      description: op.description,
      operationId: op.operationId,
      // Each operation's own: cli-runtime's verifier reads fieldValidation from these, not the path's.
      parameters: op.query.map((name) => ({
        name,
        in: "query",
        description: QUERY[name]!.description,
        schema: { type: QUERY[name]!.type, uniqueItems: true },
      })),
    };
    if (requestBody(op)) {
      const types = op.verb === "patch" ? PATCH_TYPES : ["application/json"];
      const schema = op.verb === "patch" ? { type: "object" } : schemas.kind(op.schema, op.gvk);
      o.requestBody = { required: true, content: Object.fromEntries(types.map((t) => [t, { schema }])) };
    }
    o.responses = responses;
    o["x-kubernetes-action"] = VERBS[op.verb].action;
    o["x-kubernetes-group-version-kind"] = op.gvk;
    item[VERBS[op.verb].method] = o;
  }
  item.parameters = p.params.map((name) => ({
    name,
    in: "path",
    required: true,
    description: pathParamDescription(name, p.kind),
    schema: { type: "string", uniqueItems: true },
  }));
  return item;
}

function v2PathItem(p: ResourcePath, schemas: SchemaSet): OpenApiObject {
  const item: Record<string, unknown> = {};
  for (const op of p.ops) {
    const parameters: unknown[] = [];
    if (requestBody(op)) {
      const schema = op.verb === "patch" ? { type: "object" } : schemas.kind(op.schema, op.gvk);
      parameters.push({ name: "body", in: "body", required: true, schema });
    }
    for (const name of op.query) {
      parameters.push({ name, in: "query", type: QUERY[name]!.type, uniqueItems: true, description: QUERY[name]!.description });
    }
    const schema = responseSchema(op, schemas);
    const responses: Record<string, unknown> = { "200": { description: "OK", schema } };
    if (op.verb === "create") responses["201"] = { description: "Created", schema };
    item[VERBS[op.verb].method] = {
      tags: [operationTag(op.gvk)],
      description: op.description,
      operationId: op.operationId,
      consumes: op.verb === "patch" ? PATCH_TYPES : requestBody(op) ? ["application/json"] : ["*/*"],
      produces: [op.text ? "text/plain" : "application/json"],
      parameters,
      responses,
      "x-kubernetes-action": VERBS[op.verb].action,
      "x-kubernetes-group-version-kind": op.gvk,
    };
  }
  item.parameters = p.params.map((name) => ({
    name,
    in: "path",
    required: true,
    type: "string",
    uniqueItems: true,
    description: pathParamDescription(name, p.kind),
  }));
  return item;
}
