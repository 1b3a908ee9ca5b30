import { describe, expect, it } from "vitest";
import { InvalidObjectError } from "@kubelab/api";
import { unknownFieldWarnings, writeOptionsOf } from "./writeOptions.js";

describe("a write's options from its query", () => {
  it("defaults fieldValidation to Warn, as kube-apiserver does, and reads dryRun=All", () => {
    expect(writeOptionsOf("Create", new URLSearchParams())).toEqual({ dryRun: false, fieldValidation: "Warn" });
    expect(writeOptionsOf("Patch", new URLSearchParams("dryRun=All&fieldValidation=Strict"))).toEqual({
      dryRun: true,
      fieldValidation: "Strict",
    });
  });

  it("refuses other values in ValidateCreateOptions' words, naming the options kind", () => {
    let err: unknown;
    try {
      writeOptionsOf("Create", new URLSearchParams("dryRun=Yes&fieldValidation=Loose"));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidObjectError);
    expect((err as Error).message).toBe(
      'CreateOptions.meta.k8s.io "" is invalid: [dryRun: Unsupported value: []string{"Yes"}: supported values: "All", fieldValidation: Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"]',
    );
  });

  it("words unknown fields as Warning headers", () => {
    expect(unknownFieldWarnings(["spec.foo"])).toEqual(['299 - "unknown field \\"spec.foo\\""']);
  });
});
