import { describe, expect, it } from "vitest";
import { decodeObject, kindFor } from "@kubelab/api";
import { objectFilter } from "../registry/selectors.js";
import { storageKey } from "./keys.js";
import { CacheEntry, eventTypeFor, type CacheEvent, type Filter } from "./watchCache.js";

const cmDef = kindFor("v1", "ConfigMap")!;

/** A ConfigMap "c" as the cache holds it at revision `rev`. */
function configMap(labels: Record<string, string>, rev: number, namespace = "default"): CacheEntry {
  const { obj } = decodeObject({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace, labels, resourceVersion: String(rev) },
    data: { k: "v" },
  });
  return new CacheEntry(cmDef, storageKey(cmDef, namespace, "c"), obj, rev);
}

type Change = Pick<CacheEvent, "deleted" | "entry" | "prev">;

// The three kinds of change as the cache records them (WatchCache.apply): a delete carries the
// object as it was, at the delete's revision, and that same object as `prev`.
const created = (labels: Record<string, string>, namespace?: string): Change => ({
  entry: configMap(labels, 2, namespace),
  prev: undefined,
  deleted: false,
});
const modified = (before: Record<string, string>, after: Record<string, string>): Change => ({
  entry: configMap(after, 3),
  prev: configMap(before, 2),
  deleted: false,
});
const deleted = (labels: Record<string, string>): Change => ({ entry: configMap(labels, 3), prev: configMap(labels, 2), deleted: true });

/** A watch of ConfigMaps in "default" with this label selector, as the API builds it. */
const watching = (labelSelector: string): Filter => objectFilter(cmDef, "default", labelSelector, "");
const web = watching("app=web");

const cases: Array<{ name: string; filter: Filter; change: Change; want: string | undefined }> = [
  { name: "an object created matching the selector is ADDED", filter: web, change: created({ app: "web" }), want: "ADDED" },
  { name: "an object created not matching is not sent", filter: web, change: created({ app: "db" }), want: undefined },
  {
    name: "an object modified to match enters the selector: ADDED",
    filter: web,
    change: modified({ app: "db" }, { app: "web" }),
    want: "ADDED",
  },
  {
    name: "an object that gains the selected label enters the selector: ADDED",
    filter: web,
    change: modified({}, { app: "web" }),
    want: "ADDED",
  },
  {
    name: "an object matching before and after is MODIFIED",
    filter: web,
    change: modified({ app: "web" }, { app: "web", tier: "front" }),
    want: "MODIFIED",
  },
  {
    name: "an object modified to no longer match leaves the selector: DELETED",
    filter: web,
    change: modified({ app: "web" }, { app: "db" }),
    want: "DELETED",
  },
  {
    name: "an object that loses the selected label leaves the selector: DELETED",
    filter: web,
    change: modified({ app: "web" }, {}),
    want: "DELETED",
  },
  {
    name: "an object modified without matching before or after is not sent",
    filter: web,
    change: modified({ app: "db" }, { app: "api" }),
    want: undefined,
  },
  { name: "an object deleted while matching is DELETED", filter: web, change: deleted({ app: "web" }), want: "DELETED" },
  { name: "an object deleted without having matched is not sent", filter: web, change: deleted({ app: "db" }), want: undefined },
  {
    name: "a delete without the object before it is not sent",
    filter: web,
    change: { ...deleted({ app: "web" }), prev: undefined },
    want: undefined,
  },
  {
    name: "an object in another namespace never matches a namespaced watch",
    filter: web,
    change: created({ app: "web" }, "other"),
    want: undefined,
  },
  {
    name: "a set-based selector: moving between two selected values is MODIFIED",
    filter: watching("app in (web,api)"),
    change: modified({ app: "web" }, { app: "api" }),
    want: "MODIFIED",
  },
  {
    name: "a set-based selector: moving out of the set is DELETED",
    filter: watching("app in (web,api)"),
    change: modified({ app: "web" }, { app: "db" }),
    want: "DELETED",
  },
  {
    name: "a negative selector: gaining the excluded value is DELETED",
    filter: watching("app!=db"),
    change: modified({ app: "web" }, { app: "db" }),
    want: "DELETED",
  },
  { name: "without a selector, a create is ADDED", filter: watching(""), change: created({}), want: "ADDED" },
  { name: "without a selector, an update is MODIFIED", filter: watching(""), change: modified({}, { app: "web" }), want: "MODIFIED" },
  { name: "without a selector, a delete is DELETED", filter: watching(""), change: deleted({}), want: "DELETED" },
];

describe("eventTypeFor: what a watcher is sent, by its selector before and after a change", () => {
  it.each(cases)("$name", ({ filter, change, want }) => {
    expect(eventTypeFor({ filter }, change)).toBe(want);
  });
});
