import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.js";

describe("Backoff", () => {
  it("doubles from the base up to the max, and starts over after 2×max of quiet", () => {
    let t = 0;
    const b = new Backoff(10_000, 300_000, () => t);
    const seen = [];
    for (let i = 0; i < 8; i++) seen.push(b.next("p/c"));
    expect(seen).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(b.remaining("p/c")).toBe(300_000);
    t += 100_000;
    expect(b.remaining("p/c")).toBe(200_000);
    t += 600_001;
    expect(b.next("p/c")).toBe(10_000);
  });

  it("keeps keys apart and resets a pod's keys by prefix", () => {
    const b = new Backoff(1000, 8000, () => 0);
    b.next("uid1/a");
    b.next("uid1/a");
    b.next("uid2/a");
    expect(b.delay("uid1/a")).toBe(2000);
    expect(b.delay("uid2/a")).toBe(1000);
    b.resetPrefix("uid1/");
    expect(b.delay("uid1/a")).toBe(0);
    expect(b.remaining("uid1/a")).toBe(0);
  });
});
