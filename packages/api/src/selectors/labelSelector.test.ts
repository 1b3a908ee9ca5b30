import { describe, expect, it } from "vitest";
import { LabelSelector, SelectorParseError } from "./labelSelector.js";
import { FieldSelector, FieldSelectorError } from "./fieldSelector.js";

const labels = { app: "web", tier: "front", env: "prod" };

describe("label selectors", () => {
  it.each([
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app!=web", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["app in (web,db)", true],
    ["app in (db)", false],
    ["app notin (db, cache)", true],
    ["missing notin (x)", true],
    ["tier", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    [" app = web , tier in ( front ) ", true],
    ["app=web,env=dev", false],
  ])("%j matches: %s", (text, want) => {
    expect(LabelSelector.parse(text).matches(labels)).toBe(want);
  });

  it("an empty selector matches everything, even no labels", () => {
    expect(LabelSelector.parse("").matches(undefined)).toBe(true);
    expect(LabelSelector.parse("").empty).toBe(true);
  });

  it.each(["a in b", "a in (", "a=b,", "=b", "a in (x,y", "a b", "a=b c", "bad key!=x", "a=bad value!"])("rejects %j", (text) => {
    expect(() => LabelSelector.parse(text)).toThrow(SelectorParseError);
  });

  it("names the problem in Kubernetes' words", () => {
    expect(() => LabelSelector.parse("a in b")).toThrow("unable to parse requirement: found 'b', expected: '('");
  });

  it("builds from matchLabels and matchExpressions", () => {
    const sel = LabelSelector.fromMessage({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["front", "back"] } as never,
        { key: "env", operator: "NotIn", values: ["dev"] } as never,
        { key: "env", operator: "Exists", values: [] } as never,
        { key: "canary", operator: "DoesNotExist", values: [] } as never,
      ],
    });
    expect(sel.matches(labels)).toBe(true);
    expect(sel.matches({ ...labels, canary: "1" })).toBe(false);
    expect(sel.toString()).toBe("app=web,tier in (front,back),env notin (dev),env,!canary");
    expect(LabelSelector.parse(sel.toString()).matches(labels)).toBe(true);
    expect(() =>
      LabelSelector.fromMessage({ matchLabels: {}, matchExpressions: [{ key: "a", operator: "Near", values: [] } as never] }),
    ).toThrow('"Near" is not a valid label selector operator');
  });
});

describe("field selectors", () => {
  const fields: Record<string, string> = { "metadata.name": "web-1", "status.phase": "Running" };
  it("matches = and != on the given fields", () => {
    expect(FieldSelector.parse("metadata.name=web-1").matches((f) => fields[f] ?? "")).toBe(true);
    expect(FieldSelector.parse("status.phase!=Running").matches((f) => fields[f] ?? "")).toBe(false);
    expect(FieldSelector.parse("status.phase==Running,metadata.name!=x").matches((f) => fields[f] ?? "")).toBe(true);
    expect(FieldSelector.parse("spec.nodeName=").matches(() => "")).toBe(true);
    expect(FieldSelector.parse("").empty).toBe(true);
  });

  it("rejects fields the kind does not support, in Kubernetes' words", () => {
    expect(() => FieldSelector.parse("spec.image=x").checkSupported(new Set(["metadata.name"]))).toThrow(
      "field label not supported: spec.image",
    );
    expect(() => FieldSelector.parse("nonsense")).toThrow(FieldSelectorError);
  });
});
