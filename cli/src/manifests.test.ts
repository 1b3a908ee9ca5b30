import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Pod } from "@kubelab/api";
import { inApplyOrder, readManifests } from "./manifests.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "kubelab-cli-"));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("readManifests", () => {
  it("reads every document of a multi-document file, skipping empty ones", () => {
    const p = file(
      "multi.yaml",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n",
    );
    const m = readManifests([p]);
    expect(m.map((x) => `${x.def.kind}/${x.obj.metadata!.name}`)).toEqual(["ConfigMap/a", "Namespace/ns"]);
    expect(inApplyOrder(m).map((x) => x.def.kind)).toEqual(["Namespace", "ConfigMap"]);
    expect(m[1].source).toBe(`${p}#3`);
  });

  it("reads 0400 as the octal file mode kubectl reads (YAML 1.1), other integers as decimals", () => {
    const p = file(
      "modes.yaml",
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: i}]\n  volumes:\n  - {name: s, secret: {secretName: s, defaultMode: 0400, items: [{key: k, path: k, mode: 420}]}}\n",
    );
    const secret = (readManifests([p])[0]!.obj as Pod).spec!.volumes[0]!.secret!;
    expect(secret.defaultMode).toBe(0o400);
    expect(secret.items[0]!.mode).toBe(0o644);
  });

  it("reads a directory's .yaml, .yml and .json files in name order, and stdin", () => {
    const d = mkdtempSync(path.join(dir, "d-"));
    writeFileSync(path.join(d, "b.yml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
    writeFileSync(path.join(d, "a.json"), JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } }));
    writeFileSync(path.join(d, "notes.txt"), "not a manifest");
    expect(readManifests([d]).map((x) => x.obj.metadata!.name)).toEqual(["a", "b"]);
    const fromStdin = readManifests(["-"], () => "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n");
    expect(fromStdin[0].def.kind).toBe("Secret");
  });

  it("fails on any invalid document, naming the file, document and field, and returns nothing", () => {
    const p = file(
      "bad.yaml",
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    imagee: x\n",
    );
    expect(() => readManifests([p])).toThrow(
      `${p}#2: Pod "p" is invalid: strict decoding error: unknown field "spec.containers[0].imagee"`,
    );
  });

  it("reports YAML syntax errors, missing paths and empty input", () => {
    expect(() => readManifests([file("syntax.yaml", "a: [1, 2\n")])).toThrow(/syntax\.yaml#1: /);
    expect(() => readManifests([path.join(dir, "missing.yaml")])).toThrow(`the path "${path.join(dir, "missing.yaml")}" does not exist`);
    expect(() => readManifests([file("empty.yaml", "---\n")])).toThrow("no objects passed to apply");
  });
});
