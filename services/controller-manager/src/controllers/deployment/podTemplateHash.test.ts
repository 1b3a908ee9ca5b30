import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodTemplateSpecSchema } from "@kubelab/api";
import { POD_TEMPLATE_HASH, podTemplateHash } from "./podTemplateHash.js";

const template = (image: string, extra: Record<string, string> = {}) =>
  create(PodTemplateSpecSchema, { metadata: { labels: { app: "web", ...extra } }, spec: { containers: [{ name: "c", image }] } });

describe("podTemplateHash", () => {
  it("is stable, ignores its own label, changes with the template and the collision count", () => {
    const h = podTemplateHash(template("a:1"));
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(podTemplateHash(template("a:1", { [POD_TEMPLATE_HASH]: h }))).toBe(h);
    expect(podTemplateHash(template("a:2"))).not.toBe(h);
    expect(podTemplateHash(template("a:1"), 1)).not.toBe(h);
  });
});
