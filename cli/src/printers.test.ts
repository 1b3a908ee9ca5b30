import { describe, expect, it } from "vitest";
import { decodeObject, kindFor, type KubeObject } from "@kubelab/api";
import { renderNames, renderObjects, renderTable } from "./printers.js";
import { applyPatch, removals } from "./commands/apply.js";

const pod = (name: string, ns = "default") =>
  decodeObject({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: {
      nodeName: "node-1",
      containers: [
        { name: "a", image: "x" },
        { name: "b", image: "y" },
      ],
    },
    status: {
      phase: "Running",
      podIP: "10.0.0.7",
      containerStatuses: [
        { name: "a", ready: true, restartCount: 2 },
        { name: "b", ready: false, restartCount: 1 },
      ],
    },
  }).obj as KubeObject;
const podDef = kindFor("v1", "Pod")!;
const now = new Date("2026-01-01T00:05:00Z");

describe("printers", () => {
  it("prints kubectl's columns of storage classes, volumes and claims, the default class marked", () => {
    const sc = decodeObject({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: "standard",
        creationTimestamp: "2026-01-01T00:00:00Z",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
      provisioner: "kubelab.io/local-path",
      reclaimPolicy: "Delete",
      volumeBindingMode: "WaitForFirstConsumer",
    }).obj;
    expect(
      renderTable(kindFor("storage.k8s.io/v1", "StorageClass")!, [sc], { wide: false, withNamespace: false, headers: true, now }),
    ).toBe(
      [
        "NAME                 PROVISIONER             RECLAIMPOLICY   VOLUMEBINDINGMODE      ALLOWVOLUMEEXPANSION   AGE",
        "standard (default)   kubelab.io/local-path   Delete          WaitForFirstConsumer   false                  5m",
      ].join("\n"),
    );
    const pv = decodeObject({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "pv1", creationTimestamp: "2026-01-01T00:00:00Z" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteMany", "ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        claimRef: { namespace: "default", name: "data" },
        storageClassName: "manual",
        hostPath: { path: "/tmp/pv1" },
      },
      status: { phase: "Bound" },
    }).obj;
    expect(
      renderTable(kindFor("v1", "PersistentVolume")!, [pv], { wide: false, withNamespace: false, headers: true, now }).split("\n"),
    ).toEqual([
      "NAME   CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS   CLAIM          STORAGECLASS   VOLUMEATTRIBUTESCLASS   REASON   AGE",
      "pv1    1Gi        RWO,RWX        Retain           Bound    default/data   manual         <unset>                          5m",
    ]);
  });

  it("prints kubectl's pod table, with wide columns and namespaces on request", () => {
    expect(renderTable(podDef, [pod("web-1")], { wide: false, withNamespace: false, headers: true, now })).toBe(
      ["NAME    READY   STATUS    RESTARTS   AGE", "web-1   1/2     Running   3          5m"].join("\n"),
    );
    const wide = renderTable(podDef, [pod("web-1", "team")], { wide: true, withNamespace: true, headers: true, now }).split("\n");
    expect(wide[0].split(/\s{3,}/)).toEqual([
      "NAMESPACE",
      "NAME",
      "READY",
      "STATUS",
      "RESTARTS",
      "AGE",
      "IP",
      "NODE",
      "NOMINATED NODE",
      "READINESS GATES",
    ]);
    expect(wide[1]).toContain("10.0.0.7");
    expect(renderTable(podDef, [pod("a")], { wide: false, withNamespace: false, headers: false, now })).not.toContain("NAME");
  });

  it("prints one object as itself and several as a List, in YAML or JSON; names as kind/name", () => {
    expect(renderObjects([pod("one")], "yaml", true)).toMatch(/^apiVersion: v1\nkind: Pod\nmetadata:\n {2}name: one/);
    const list = JSON.parse(renderObjects([pod("a"), pod("b")], "json", false));
    expect(list.kind).toBe("List");
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["a", "b"]);
    expect(list.items[0].status.podIP).toBe("10.0.0.7");
    expect(renderNames(podDef, [pod("a"), pod("b")])).toBe("pod/a\npod/b");
  });
});

describe("three-way apply patch", () => {
  it("deletes what the last apply set and this one dropped, keeping everything else", () => {
    const last = { metadata: { labels: { a: "1", b: "2" } }, data: { x: "1", y: "2" } };
    const next = { metadata: { labels: { a: "1" } }, data: { x: "3" } };
    expect(removals(last, next)).toEqual({ metadata: { labels: { b: null } }, data: { y: null } });
    expect(applyPatch(next, last)).toEqual({ metadata: { labels: { a: "1", b: null } }, data: { x: "3", y: null } });
    expect(applyPatch(next, undefined)).toEqual(next);
  });
});
