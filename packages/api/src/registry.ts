import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { ObjectMeta } from "./gen/kubelab/meta/v1/meta_pb.js";
import type { FieldError } from "./validation/fieldErrors.js";
import type { NameRule } from "./validation/names.js";

/** Any kind's message: the Kubernetes object shape. */
export type KubeObject = Message & {
  apiVersion: string;
  kind: string;
  metadata?: ObjectMeta;
};

/** One column of `kubelab get`, as kubectl prints it. */
export interface PrintColumn<T> {
  name: string;
  value: (obj: T, now: Date) => string;
  /** Shown only with -o wide. */
  wide?: boolean;
}

/**
 * Everything the API server, the client and the CLI need to know about a kind.
 * Adding a kind is its message in proto/ plus one of these, registered in kinds/index.ts.
 */
export interface KindDefinition<T extends KubeObject = KubeObject> {
  kind: string;
  apiVersion: string;
  /** The plural used on the wire and in etcd keys: /registry/<resource>/<namespace>/<name>. */
  resource: string;
  singular: string;
  shortNames: readonly string[];
  /** Kubernetes' categories: "all" for what `kubectl get all` shows. */
  categories?: readonly string[];
  namespaced: boolean;
  /**
   * Served by another API server behind this one (metrics-server's metrics.k8s.io, as Kubernetes'
   * aggregation layer proxies it): get and list only, never stored in etcd or watched.
   */
  aggregated?: boolean;
  schema: GenMessage<T>;
  /** metadata.name rule: most kinds take a DNS-1123 subdomain, Namespace a label. */
  nameRule: NameRule;
  /** Whether the kind has a status subresource (UpdateStatus). */
  hasStatus: boolean;
  /** Fields a field selector may name, beyond metadata.name and metadata.namespace. */
  selectableFields?: Record<string, (obj: T) => string>;
  /** Resets what a client may not set on create (a new pod's status, say). */
  prepareForCreate?: (obj: T) => void;
  /**
   * Seconds a delete waits for the object's owner process (a kubelet) before the object goes;
   * 0 or absent removes it at once (or when its finalizers are done).
   */
  deletionGracePeriod?: (obj: T, requested: number | undefined) => number;
  /**
   * Finalizers a kind keeps outside metadata.finalizers (a Namespace's spec.finalizers): the
   * object stays while any is left, as with metadata.finalizers.
   */
  specFinalizers?: (obj: T) => readonly string[];
  /** Marks an object whose deletion began (a Namespace's phase becomes Terminating). */
  onDeletionStart?: (obj: T) => void;
  /**
   * Kubernetes' strategy PrepareForUpdate: changes an update makes to itself against the stored
   * object before defaulting and validation (a Service dropping the fields its old type needed).
   */
  prepareForUpdate?: (obj: T, old: T) => void;
  /** Kubernetes' defaulting, applied before validation on every write. */
  defaults?: (obj: T) => void;
  validate?: (obj: T) => FieldError[];
  validateUpdate?: (obj: T, old: T) => FieldError[];
  columns: readonly PrintColumn<T>[];
  /** The NAME column, when kubectl prints more than the name (a default StorageClass's "(default)"). */
  printName?: (obj: T) => string;
}

const byResource = new Map<string, KindDefinition>();
const byKind = new Map<string, KindDefinition>();
const byTypeName = new Map<string, KindDefinition>();
const byAlias = new Map<string, KindDefinition>();

export function registerKind<T extends KubeObject>(def: KindDefinition<T>): void {
  const d = def as unknown as KindDefinition;
  if (byResource.has(d.resource)) throw new Error(`resource ${d.resource} registered twice`);
  byResource.set(d.resource, d);
  byKind.set(kindKey(d.apiVersion, d.kind), d);
  byKind.set(d.kind, d);
  byTypeName.set(d.schema.typeName, d);
  for (const alias of [d.resource, d.singular, d.kind.toLowerCase(), ...d.shortNames]) byAlias.set(alias, d);
}

const kindKey = (apiVersion: string, kind: string) => `${apiVersion}/${kind}`;

export function kindForResource(resource: string): KindDefinition | undefined {
  return byResource.get(resource);
}

export function kindFor(apiVersion: string, kind: string): KindDefinition | undefined {
  return byKind.get(kindKey(apiVersion, kind));
}

export function kindForTypeName(typeName: string): KindDefinition | undefined {
  return byTypeName.get(typeName);
}

/** Resolves what a user types ("po", "pod", "pods", "Pod") to a kind, as kubectl does. */
export function resolveResource(nameOrAlias: string): KindDefinition | undefined {
  return byAlias.get(nameOrAlias.toLowerCase()) ?? byAlias.get(nameOrAlias.toLowerCase().split(".")[0]);
}

export function allKinds(): KindDefinition[] {
  return [...byResource.values()];
}

/** The kinds this API server stores: every kind but the aggregated ones. */
export function storedKinds(): KindDefinition[] {
  return allKinds().filter((k) => !k.aggregated);
}

/** The kind's API group ("" for the core group). */
export function groupOf(def: KindDefinition): string {
  return def.apiVersion.includes("/") ? def.apiVersion.split("/")[0]! : "";
}

/** The kind qualified by its group, as Kubernetes names a GroupKind in errors ("Deployment.apps", "Pod"). */
export function qualifiedKind(def: KindDefinition): string {
  const group = groupOf(def);
  return group ? `${def.kind}.${group}` : def.kind;
}

/** The resource's name within its group, as discovery lists it ("pods" for "pods.metrics.k8s.io"). */
export function resourceNameInGroup(def: KindDefinition): string {
  return def.aggregated ? def.resource.split(".")[0]! : def.resource;
}

/** The field names a field selector may use on this kind. */
export function selectableFieldNames(def: KindDefinition): Set<string> {
  return new Set(["metadata.name", "metadata.namespace", ...Object.keys(def.selectableFields ?? {})]);
}

export function selectableFieldValue(def: KindDefinition, obj: KubeObject, field: string): string {
  if (field === "metadata.name") return obj.metadata?.name ?? "";
  if (field === "metadata.namespace") return obj.metadata?.namespace ?? "";
  return def.selectableFields?.[field]?.(obj) ?? "";
}

/** The NAME column of an object, as kubectl prints it. */
export function printedName(def: KindDefinition, obj: KubeObject): string {
  return def.printName?.(obj) ?? obj.metadata?.name ?? "";
}

export function hasField(schema: DescMessage, name: string): boolean {
  return schema.fields.some((f) => f.name === name);
}
