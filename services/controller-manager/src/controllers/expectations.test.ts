import { describe, expect, it } from "vitest";
import { Expectations } from "./expectations.js";

describe("Expectations", () => {
  it("holds a key until its creations and deletions are observed, or they expire", () => {
    const e = new Expectations(50);
    expect(e.satisfied("ns/rs")).toBe(true);
    e.expectCreations("ns/rs", 2);
    e.creationObserved("ns/rs");
    expect(e.satisfied("ns/rs")).toBe(false);
    e.creationObserved("ns/rs");
    expect(e.satisfied("ns/rs")).toBe(true);
    e.expectDeletions("ns/rs", ["a", "b"]);
    e.deletionObserved("ns/rs", "a");
    expect(e.satisfied("ns/rs")).toBe(false);
    e.deletionObserved("ns/rs", "b");
    expect(e.satisfied("ns/rs")).toBe(true);
  });

  it("lets a lost event go after the time-to-live", async () => {
    const e = new Expectations(20);
    e.expectCreations("k", 1);
    expect(e.satisfied("k")).toBe(false);
    await new Promise((r) => setTimeout(r, 30));
    expect(e.satisfied("k")).toBe(true);
  });
});
