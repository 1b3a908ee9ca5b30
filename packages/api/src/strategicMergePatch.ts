// Kubernetes' strategic merge patch (application/strategic-merge-patch+json) as kube-apiserver
// applies it: k8s.io/apimachinery/pkg/util/strategicpatch/patch.go, StrategicMergeMapPatch with
// the server's options (parallel lists merged, nulls that match nothing dropped). The functions
// below follow upstream's one by one and keep their names in their doc comments, so a difference
// in behaviour can be traced to a line there. No npm package applies this patch type (the ones
// there are RFC 7386 JSON merge patch, which has no merge keys or directives), hence a port.
//
// Where upstream reads the Go struct tags of the versioned type, this walks the kind's protobuf
// schema and reads the tags from patchStrategies.ts.

import type { DescField, DescMessage, JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import type { StatusReason } from "./apiError.js";
import { patchStrategyOf } from "./patchStrategies.js";
import type { KindDefinition } from "./registry.js";

const directiveMarker = "$patch";
const deleteDirective = "delete";
const replaceDirective = "replace";
const mergeDirective = "merge";
const retainKeysStrategy = "retainKeys";
const deleteFromPrimitiveListDirectivePrefix = "$deleteFromPrimitiveList";
const retainKeysDirective = `$${retainKeysStrategy}`;
const setElementOrderDirectivePrefix = "$setElementOrder";

/**
 * A patch that cannot be applied, with upstream's message. `reason` is what kube-apiserver answers
 * (its interpretStrategicMergePatchError): Invalid (422) for a list of lists, BadRequest (400) for
 * the rest. Upstream answers 500 for the errors it does not classify (a missing merge key, an
 * unknown `$patch` value, mixed element types); every one of them is the patch's fault, so here they
 * are BadRequest too.
 */
export class StrategicMergePatchError extends Error {
  constructor(
    message: string,
    readonly reason: Extract<StatusReason, "BadRequest" | "Invalid"> = "BadRequest",
  ) {
    super(message);
    this.name = "StrategicMergePatchError";
  }
}

/**
 * Applies a strategic merge patch to an object in Kubernetes JSON (objectToJson's shape), as
 * kube-apiserver does for PATCH with application/strategic-merge-patch+json. Pure: neither input is
 * changed, and the result shares nothing with them.
 *
 * - Maps merge key by key; `null` deletes a key. Fields of map type (labels, annotations,
 *   nodeSelector, resources.limits) are maps too.
 * - Lists whose field Kubernetes tags `patchStrategy:"merge"` merge: objects by the merge key (a
 *   match merges, the rest is added), primitives as a set. Every other list is replaced whole, and so
 *   is a google.protobuf.Value/Struct/ListValue field (IntOrString, free-form), as upstream's
 *   `patchStrategy:"replace"` RawExtension is.
 * - Order of a merged list, as upstream: the patch's elements in the patch's order, interleaved with
 *   the elements only the original has in their original order; an element new to the list goes
 *   before the original elements that follow the last patch element placed (so a lone new element
 *   goes first). `$setElementOrder/<field>` sets the order of the elements it names instead.
 * - Directives: `$patch: replace` and `$patch: delete` in a map and in a merge list's element;
 *   `$patch: merge` is refused as upstream refuses it ("unknown patch type" in a map, "merging lists
 *   cannot yet be specified in the patch" in a list); `$deleteFromPrimitiveList/<field>`,
 *   `$setElementOrder/<field>`, `$retainKeys` (honoured in any map, as upstream does, not only where
 *   the field is tagged retainKeys).
 *
 * Unknown fields are not an error here, as they are not in upstream's patch: a key the original does
 * not have is copied into the result (with its nulls and `$patch` maps dropped), and decoding the
 * result (decodeObject, strict as `fieldValidation=Strict`) is what rejects it, naming its path.
 * Decoding likewise rejects a directive key that upstream, too, leaves in the result (a `$retainKeys`
 * in a new list element; any `$`-key of a list replaced whole). A field is looked up in the schema
 * only where the original has it too; one the schema lacks there is upstream's error,
 * `unable to find api field in struct ... for the json field "..."`.
 *
 * @throws StrategicMergePatchError for a malformed patch, with upstream's wording.
 */
export function applyStrategicMergePatch(def: KindDefinition, original: JsonObject, patch: JsonObject): JsonObject {
  // Upstream mutates both maps as it goes; cloning once lets the port do the same.
  return mergeMap(structuredClone(original), structuredClone(patch), { kind: "message", desc: def.schema });
}

type Obj = JsonObject;

/** Where in the kind's schema a map or list sits: what upstream's LookupPatchMeta answers. */
type Schema =
  | { kind: "message"; desc: DescMessage }
  /** A protobuf map: free keys, every value of one schema. */
  | { kind: "map"; values: Schema }
  /** A scalar, an enum, or a google.protobuf value type: nothing to look up inside. */
  | { kind: "atomic"; goKind: string };

interface PatchMeta {
  schema: Schema;
  patchStrategies: string[];
  patchMergeKey: string;
}

const atomicTypes = new Set(["google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue"]);

const isObj = (v: JsonValue | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (o: Obj, k: string) => Object.hasOwn(o, k);

// ---------------------------------------------------------------------------------------------
// mergeMap and its helpers

/**
 * mergeMap: merges `patch` into `original` (both owned here, and changed), and returns the result.
 * A `$patch` directive decides the whole map; otherwise $retainKeys, then the $setElementOrder lists,
 * then every other key.
 */
function mergeMap(original: Obj, patch: Obj, schema: Schema): Obj {
  if (has(patch, directiveMarker)) return handleDirectiveInMergeMap(patch[directiveMarker], patch);
  const out = original;
  applyRetainKeysDirective(out, patch);
  mergePatchIntoOriginal(out, patch, schema);

  for (const [patchKey, patchV] of Object.entries(patch)) {
    let k = patchKey;
    let isDeleteList = false;
    if (patchKey.startsWith(deleteFromPrimitiveListDirectivePrefix)) {
      k = extractKey(patchKey, deleteFromPrimitiveListDirectivePrefix);
      isDeleteList = true;
    }
    // null deletes the key (even for a deletion list: `$deleteFromPrimitiveList/x: null` drops x), and
    // a null that matches nothing is dropped.
    if (patchV === null) {
      delete out[k];
      continue;
    }
    if (!has(out, k) || goType(out[k]) !== goType(patchV)) {
      if (!isDeleteList) takePatchValue(out, k, patchV);
      continue;
    }
    const originalV = out[k];
    if (isObj(originalV) && isObj(patchV)) {
      const meta = lookupPatchMetadataForStruct(schema, k);
      const [, patchStrategy] = extractRetainKeysPatchStrategy(meta.patchStrategies);
      out[k] = patchStrategy === replaceDirective ? patchV : mergeMap(originalV, patchV, meta.schema);
    } else if (Array.isArray(originalV) && Array.isArray(patchV)) {
      const meta = lookupPatchMetadataForSlice(schema, k);
      const [, patchStrategy] = extractRetainKeysPatchStrategy(meta.patchStrategies);
      out[k] = mergeSliceHandler(originalV, patchV, meta, patchStrategy, isDeleteList);
    } else {
      out[k] = patchV;
    }
  }
  return out;
}

/** A value the original lacks (or has of another type) is the patch's, less its nulls and `$patch` maps. */
function takePatchValue(out: Obj, k: string, patchV: JsonValue): void {
  discardNullValuesFromPatch(patchV);
  const [v, keep] = removeDirectives(patchV);
  // Defined, not assigned: a "__proto__" key is a field like any other (and so unknown at decoding).
  if (keep) Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  else delete out[k];
}

/** handleDirectiveInMergeMap: `$patch: replace` takes the patch as it is, `$patch: delete` leaves an empty map. */
function handleDirectiveInMergeMap(directive: JsonValue, patch: Obj): Obj {
  if (directive === replaceDirective) {
    delete patch[directiveMarker];
    return patch;
  }
  if (directive === deleteDirective) return {};
  throw errBadPatchType(directive, patch);
}

/**
 * applyRetainKeysDirective: `$retainKeys` lists the keys to keep; every other key of the original
 * goes, and the patch may set only listed keys.
 */
function applyRetainKeysDirective(original: Obj, patch: Obj): void {
  if (!has(patch, retainKeysDirective)) return;
  const retainKeys = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(retainKeys)) throw new StrategicMergePatchError(errBadPatchFormatForRetainKeys);
  const keep = new Set<JsonValue>(retainKeys);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListDirectivePrefix) || k.startsWith(setElementOrderDirectivePrefix)) continue;
    if (!keep.has(k)) throw new StrategicMergePatchError(errBadPatchFormatForRetainKeys);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/**
 * mergePatchIntoOriginal: each `$setElementOrder/<field>` with its list. The list merges as it would
 * without the directive, then the elements the directive names take its order, and those it does not
 * name (the original's own) keep theirs, interleaved by their place in the original. Both keys leave
 * the patch.
 */
function mergePatchIntoOriginal(original: Obj, patch: Obj, schema: Schema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderDirectivePrefix)) continue;
    const setElementOrder = patch[key];
    delete patch[key];
    if (!Array.isArray(setElementOrder)) throw errBadArgType("[]interface {}", setElementOrder);
    const originalKey = extractKey(key, setElementOrderDirectivePrefix);

    const foundOriginal = has(original, originalKey);
    const foundPatch = has(patch, originalKey);
    const originalList = foundOriginal ? original[originalKey] : [];
    const patchList = foundPatch ? patch[originalKey] : [];
    if (!Array.isArray(originalList)) throw errBadArgType("[]interface {}", originalList);
    if (!Array.isArray(patchList)) throw errBadArgType("[]interface {}", patchList);

    const meta = lookupPatchMetadataForSlice(schema, originalKey);
    const [, patchStrategy] = extractRetainKeysPatchStrategy(meta.patchStrategies);
    const mergeKey = meta.patchMergeKey;
    validatePatchWithSetOrderList(patchList, setElementOrder, mergeKey);

    let merged: JsonValue[];
    if (foundOriginal && !foundPatch) merged = originalList;
    else if (!foundOriginal && foundPatch) {
      const [v, keep] = removeDirectives(patchList);
      if (!keep) continue;
      merged = v as JsonValue[];
    } else if (foundOriginal && foundPatch) merged = mergeSliceHandler(originalList, patchList, meta, patchStrategy, false);
    else continue;

    const [patchItems, serverOnlyItems] =
      mergeKey === ""
        ? partitionPrimitivesByPresentInList(merged, setElementOrder)
        : partitionMapsByPresentInList(merged, setElementOrder, mergeKey);
    const kind = sliceElementType(originalList, patchList);
    original[originalKey] = normalizeElementOrder(patchItems, serverOnlyItems, setElementOrder, originalList, mergeKey, kind);
    delete patch[originalKey];
  }
}

/**
 * validatePatchWithSetOrderList: the patch list's elements (less deletions) must appear in the
 * `$setElementOrder` list, in the same relative order.
 */
function validatePatchWithSetOrderList(patchList: JsonValue[], setOrderList: JsonValue[], mergeKey: string): void {
  if (setOrderList.length === 0 || patchList.length === 0) return;
  const nonDeleteList = mergeKey ? extractToDeleteItems(patchList)[0] : patchList;
  let patchIndex = 0;
  let setOrderIndex = 0;
  while (patchIndex < nonDeleteList.length && setOrderIndex < setOrderList.length) {
    if (containsDirectiveMarker(nonDeleteList[patchIndex])) {
      patchIndex++;
      continue;
    }
    if (mergeKeyValueEqual(nonDeleteList[patchIndex], setOrderList[setOrderIndex], mergeKey)) patchIndex++;
    setOrderIndex++;
  }
  if (patchIndex < nonDeleteList.length && setOrderIndex >= setOrderList.length) {
    throw new StrategicMergePatchError(
      `The order in patch list:\n${goSprint(patchList)}\n doesn't match ${setElementOrderDirectivePrefix} list:\n${goSprint(setOrderList)}\n`,
    );
  }
}

function containsDirectiveMarker(item: JsonValue): boolean {
  return isObj(item) && has(item, directiveMarker);
}

function mergeKeyValueEqual(left: JsonValue, right: JsonValue, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObj(left)) throw errBadArgType("map[string]interface {}", left);
  if (!isObj(right)) throw errBadArgType("map[string]interface {}", right);
  if (!has(left, mergeKey)) throw errNoMergeKey(left, mergeKey);
  if (!has(right, mergeKey)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

/** extractKey: the field a `$deleteFromPrimitiveList/<field>` or `$setElementOrder/<field>` key names. */
function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf("/");
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    throw new StrategicMergePatchError(
      prefix === deleteFromPrimitiveListDirectivePrefix ? errBadPatchFormatForPrimitiveList : errBadPatchFormatForSetElementOrderList,
    );
  }
  return s.slice(slash + 1);
}

/** discardNullValuesFromPatch: drops null map values at every depth (a list's null elements stay). */
function discardNullValuesFromPatch(v: JsonValue): void {
  if (Array.isArray(v)) for (const item of v) discardNullValuesFromPatch(item);
  else if (isObj(v)) {
    for (const [k, item] of Object.entries(v)) {
      if (item === null) delete v[k];
      else discardNullValuesFromPatch(item);
    }
  }
}

/** removeDirectives: drops every map holding `$patch` (false: the value itself is one). */
function removeDirectives(v: JsonValue): [JsonValue, boolean] {
  if (isObj(v)) {
    if (has(v, directiveMarker)) return [null, false];
    for (const [k, item] of Object.entries(v)) {
      const [nv, keep] = removeDirectives(item);
      if (keep) v[k] = nv;
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const item of v) {
      const [nv, keep] = removeDirectives(item);
      if (keep) out.push(nv);
    }
    return [out, true];
  }
  return [v, true];
}

// ---------------------------------------------------------------------------------------------
// mergeSlice and its helpers

/** mergeSliceHandler: a merge list (or a deletion list) merges; any other list is the patch's. */
function mergeSliceHandler(
  original: JsonValue[],
  patch: JsonValue[],
  meta: PatchMeta,
  patchStrategy: string,
  isDeleteList: boolean,
): JsonValue[] {
  if (patchStrategy === mergeDirective || isDeleteList) return mergeSlice(original, patch, meta.schema, meta.patchMergeKey, isDeleteList);
  return patch;
}

/** mergeSlice: merges a merge list, primitives as a set and objects by the merge key, then orders it. */
function mergeSlice(original: JsonValue[], patch: JsonValue[], elem: Schema, mergeKey: string, isDeleteList: boolean): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementType(original, patch);
  let merged: JsonValue[];
  if (kind !== "map") {
    if (isDeleteList) return deleteFromSlice(original, patch);
    merged = [...new Set([...original, ...patch])];
  } else {
    if (mergeKey === "") throw new StrategicMergePatchError(`cannot merge lists without merge key for ${schemaName(elem)}`);
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(original, patch, mergeKey, elem);
  }
  const [patchItems, serverOnlyItems] =
    mergeKey === "" ? partitionPrimitivesByPresentInList(merged, patch) : partitionMapsByPresentInList(merged, patch, mergeKey);
  return normalizeElementOrder(patchItems, serverOnlyItems, patch, original, mergeKey, kind);
}

/**
 * mergeSliceWithSpecialElements: `$patch: delete` elements take every original element with their
 * merge key out; `$patch: replace` makes the patch's other elements the whole list.
 */
function mergeSliceWithSpecialElements(original: JsonValue[], patch: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const withoutSpecial: JsonValue[] = [];
  let replace = false;
  for (const v of patch) {
    const item = v as Obj;
    if (!has(item, directiveMarker)) {
      withoutSpecial.push(v);
      continue;
    }
    const patchType = item[directiveMarker];
    if (patchType === deleteDirective) {
      if (!has(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      original = original.filter((o) => !(isObj(o) && has(o, mergeKey) && o[mergeKey] === item[mergeKey]));
    } else if (patchType === replaceDirective) {
      // Upstream goes on through the list, to take any other $patch element out too.
      replace = true;
    } else if (patchType === mergeDirective) {
      throw new StrategicMergePatchError("merging lists cannot yet be specified in the patch");
    } else {
      throw errBadPatchType(patchType, item);
    }
  }
  return replace ? [withoutSpecial, []] : [original, withoutSpecial];
}

/**
 * mergeSliceWithoutSpecialElements: a patch element merges into the first element with its merge
 * key value (those added earlier in the same patch included), or is added at the end.
 */
function mergeSliceWithoutSpecialElements(original: JsonValue[], patch: JsonValue[], mergeKey: string, elem: Schema): JsonValue[] {
  const out = [...original];
  for (const v of patch) {
    const item = v as Obj;
    if (!has(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    const i = findMapInSliceBasedOnKeyValue(out, mergeKey, item[mergeKey]);
    if (i >= 0) out[i] = mergeMap(out[i] as Obj, item, elem);
    else out.push(v);
  }
  return out;
}

function findMapInSliceBasedOnKeyValue(list: JsonValue[], key: string, value: JsonValue): number {
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!isObj(item)) throw new StrategicMergePatchError(`value for key ${i} is not a map`);
    if (has(item, key) && item[key] === value) return i;
  }
  return -1;
}

/** deleteFromSlice: `$deleteFromPrimitiveList/<field>` takes every listed value out, the order kept. */
function deleteFromSlice(current: JsonValue[], toDelete: JsonValue[]): JsonValue[] {
  const gone = new Set(toDelete);
  return current.filter((v) => !gone.has(v));
}

/** The elements named in `partitionBy`, and the rest, each in `list`'s order. */
function partitionPrimitivesByPresentInList(list: JsonValue[], partitionBy: JsonValue[]): [JsonValue[], JsonValue[]] {
  const inPatch = new Set(partitionBy);
  return [list.filter((v) => inPatch.has(v)), list.filter((v) => !inPatch.has(v))];
}

function partitionMapsByPresentInList(list: JsonValue[], partitionBy: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const named: JsonValue[] = [];
  const rest: JsonValue[] = [];
  for (const v of list) {
    if (!isObj(v)) throw errBadArgType("map[string]interface {}", v);
    if (!has(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    (findMapInSliceBasedOnKeyValue(partitionBy, mergeKey, v[mergeKey]) >= 0 ? named : rest).push(v);
  }
  return [named, rest];
}

type ElementKind = "map" | "scalar";

/** sliceElementType: all elements of the lists are of one JSON type, and not lists. */
function sliceElementType(...lists: JsonValue[][]): ElementKind {
  let prev: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const t = goType(v);
      if (prev === undefined) {
        if (t === "[]interface {}") throw new StrategicMergePatchError(errNoListOfLists, "Invalid");
        prev = t;
      } else if (t !== prev) {
        throw new StrategicMergePatchError(`list element types are not identical: ${goSprint(lists)}`);
      }
    }
  }
  if (prev === undefined) throw new StrategicMergePatchError("no elements in any of the given slices");
  // Upstream panics on a list whose first element is null; refuse it like mixed types.
  if (prev === "nil") throw new StrategicMergePatchError(`list element types are not identical: ${goSprint(lists)}`);
  return prev === "map[string]interface {}" ? "map" : "scalar";
}

/**
 * normalizeElementOrder: the patch's elements in `patchOrder`, the original's own in `serverOrder`,
 * then merged (mergeSortedSlice).
 */
function normalizeElementOrder(
  patch: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: ElementKind,
): JsonValue[] {
  const sortedPatch = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const sortedServerOnly = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(sortedServerOnly, sortedPatch, serverOrder, mergeKey, kind);
}

/**
 * normalizeSliceOrder: sorts `toSort` by the elements' places in `order` (stable), `$patch: delete`
 * elements last. Upstream's comparator is no order when an element is missing from `order` (it
 * cannot be, but for a `$setElementOrder` list that is empty); such elements follow the others here.
 */
function normalizeSliceOrder(toSort: JsonValue[], order: JsonValue[], mergeKey: string, kind: ElementKind): JsonValue[] {
  let toDelete: JsonValue[] = [];
  if (kind === "map") {
    validateMergeKeyInLists(mergeKey, toSort, order);
    [toSort, toDelete] = extractToDeleteItems(toSort);
  }
  const place = (v: JsonValue) => {
    const i = index(order, v, mergeKey, kind);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  const sorted = toSort
    .map((v, i) => ({ v, i, at: place(v) }))
    .sort((a, b) => (a.at === b.at ? a.i - b.i : a.at < b.at ? -1 : 1))
    .map((e) => e.v);
  return [...sorted, ...toDelete];
}

function validateMergeKeyInLists(mergeKey: string, ...lists: JsonValue[][]): void {
  for (const list of lists) {
    for (const item of list) {
      if (!isObj(item)) throw errBadArgType("map[string]interface {}", item);
      if (!has(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
    }
  }
}

/** extractToDeleteItems: the elements to keep, and the `$patch: delete` ones. */
function extractToDeleteItems(list: JsonValue[]): [JsonValue[], JsonValue[]] {
  const keep: JsonValue[] = [];
  const toDelete: JsonValue[] = [];
  for (const v of list) {
    if (!isObj(v)) throw errBadArgType("map[string]interface {}", v);
    (v[directiveMarker] === deleteDirective ? toDelete : keep).push(v);
  }
  return [keep, toDelete];
}

/**
 * mergeSortedSlice: interleaves the original's own elements (`left`) with the patch's (`right`),
 * each list's order kept. A left element goes first only when both are in the original and it was
 * ahead there; so a patch element new to the list is placed before the left elements still waiting.
 */
function mergeSortedSlice(
  left: JsonValue[],
  right: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: ElementKind,
): JsonValue[] {
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = index(serverOrder, left[i], mergeKey, kind);
      const ri = index(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** index: where `v` is in `list`, by merge key value for objects (a missing key matches a missing key). */
function index(list: JsonValue[], v: JsonValue, mergeKey: string, kind: ElementKind): number {
  const val = (item: JsonValue): JsonValue => (kind === "map" ? (isObj(item) && has(item, mergeKey) ? item[mergeKey] : null) : item);
  const want = val(v);
  return list.findIndex((item) => val(item) === want);
}

// ---------------------------------------------------------------------------------------------
// The schema: upstream's LookupPatchMeta over our protobuf descriptors

const fieldMaps = new WeakMap<DescMessage, Map<string, DescField>>();
function fieldByJsonName(desc: DescMessage, jsonName: string): DescField | undefined {
  let m = fieldMaps.get(desc);
  if (!m) {
    m = new Map(desc.fields.map((f) => [f.jsonName, f]));
    fieldMaps.set(desc, m);
  }
  return m.get(jsonName);
}

function messageSchema(desc: DescMessage): Schema {
  return atomicTypes.has(desc.typeName) ? { kind: "atomic", goKind: "struct" } : { kind: "message", desc };
}

function scalarSchema(scalar: ScalarType): Schema {
  return { kind: "atomic", goKind: ScalarType[scalar].toLowerCase() };
}

/**
 * LookupPatchMetadataForStruct: the schema of a field's value and the field's tags. Inside a
 * protobuf map every key has the values' schema; upstream cannot look into a Go map of structs and
 * errs there, but none of our maps holds messages, so the two agree.
 */
function lookupPatchMetadataForStruct(schema: Schema, key: string): PatchMeta {
  if (schema.kind === "map") return { schema: schema.values, patchStrategies: [], patchMergeKey: "" };
  if (schema.kind === "atomic") {
    throw new StrategicMergePatchError(`merging an object in json but data type is not struct, instead is: ${schema.goKind}`);
  }
  const field = fieldByJsonName(schema.desc, key);
  if (!field)
    throw new StrategicMergePatchError(`unable to find api field in struct ${schema.desc.name} for the json field ${goQuote(key)}`);
  const tag = patchStrategyOf(schema.desc.typeName, key);
  let sub: Schema;
  switch (field.fieldKind) {
    case "message":
      sub = messageSchema(field.message);
      break;
    case "list":
      sub = { kind: "atomic", goKind: "slice" };
      break;
    case "map":
      sub = {
        kind: "map",
        values:
          field.mapKind === "message" ? messageSchema(field.message) : field.mapKind === "scalar" ? scalarSchema(field.scalar) : enumSchema,
      };
      break;
    case "scalar":
      sub = scalarSchema(field.scalar);
      break;
    case "enum":
      sub = enumSchema;
      break;
  }
  // A google.protobuf.Value/Struct is free-form JSON: replaced whole, as RawExtension's tag says upstream.
  const atomic = field.fieldKind === "message" && atomicTypes.has(field.message.typeName);
  return {
    schema: sub,
    patchStrategies: atomic ? [replaceDirective] : tag ? tag.strategy.split(",") : [],
    patchMergeKey: tag?.mergeKey ?? "",
  };
}

const enumSchema: Schema = { kind: "atomic", goKind: "string" };

/** LookupPatchMetadataForSlice: the schema of a list field's elements and the field's tags. */
function lookupPatchMetadataForSlice(schema: Schema, key: string): PatchMeta {
  const meta = lookupPatchMetadataForStruct(schema, key);
  if (schema.kind !== "message") return meta;
  const field = fieldByJsonName(schema.desc, key)!;
  if (field.fieldKind === "list") {
    const elem =
      field.listKind === "message" ? messageSchema(field.message) : field.listKind === "scalar" ? scalarSchema(field.scalar) : enumSchema;
    return { ...meta, schema: elem };
  }
  // A free-form value holding a list is replaced whole; any other field is no list at all.
  if (meta.patchStrategies[0] === replaceDirective) return meta;
  throw new StrategicMergePatchError("expected slice or array type, but got: struct");
}

function schemaName(schema: Schema): string {
  return schema.kind === "message" ? "struct" : schema.kind === "map" ? "map" : schema.goKind;
}

/** extractRetainKeysPatchStrategy: whether the tag says retainKeys, and its other strategy. */
function extractRetainKeysPatchStrategy(strategies: string[]): [boolean, string] {
  switch (strategies.length) {
    case 0:
      return [false, ""];
    case 1:
      return strategies[0] === retainKeysStrategy ? [true, ""] : [false, strategies[0]];
    case 2:
      if (strategies[0] === retainKeysStrategy) return [true, strategies[1]];
      if (strategies[1] === retainKeysStrategy) return [true, strategies[0]];
  }
  throw new StrategicMergePatchError(`unexpected patch strategy: [${strategies.join(" ")}]`);
}

// ---------------------------------------------------------------------------------------------
// Upstream's errors (k8s.io/apimachinery/pkg/util/mergepatch/errors.go), worded as Go prints them

const errNoListOfLists = "lists of lists are not supported";
const errBadPatchFormatForPrimitiveList = "invalid patch format of primitive list";
const errBadPatchFormatForRetainKeys = "invalid patch format of retainKeys";
const errBadPatchFormatForSetElementOrderList = "invalid patch format of setElementOrder list";

const errNoMergeKey = (m: Obj, k: string) => new StrategicMergePatchError(`map: ${goSprint(m)} does not contain declared merge key: ${k}`);

const errBadArgType = (expected: string, actual: JsonValue) =>
  new StrategicMergePatchError(`expected a ${expected}, but received a ${actual === null ? "%!s(<nil>)" : goType(actual)}`);

const errBadPatchType = (t: JsonValue, m: Obj) => {
  const s = typeof t === "string" ? t : t === null ? "%!s(<nil>)" : `%!s(${goType(t)}=${goSprint(t)})`;
  return new StrategicMergePatchError(`unknown patch type: ${s} in map: ${goSprint(m)}`);
};

/** The Go type a JSON value decodes to (kube-apiserver keeps integers as int64). */
function goType(v: JsonValue): string {
  if (v === null) return "nil";
  if (Array.isArray(v)) return "[]interface {}";
  switch (typeof v) {
    case "object":
      return "map[string]interface {}";
    case "string":
      return "string";
    case "boolean":
      return "bool";
    default:
      return Number.isInteger(v) ? "int64" : "float64";
  }
}

/** A value as Go's %v prints it: map[a:1 b:[x y]], keys sorted. */
function goSprint(v: JsonValue): string {
  if (v === null) return "<nil>";
  if (Array.isArray(v)) return `[${v.map((x) => goSprint(x)).join(" ")}]`;
  if (typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goSprint(v[k])}`).join(" ")}]`;
  }
  return String(v);
}

const goQuote = (s: string) => JSON.stringify(s);
