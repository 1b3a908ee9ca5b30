import { describe, expect, it } from "vitest";
import { ExponentialBackoff, retryWithBackoff } from "./backoff.js";

describe("ExponentialBackoff", () => {
  it("doubles a key's delay from base at each failure, capped at max, until forgotten", () => {
    const b = new ExponentialBackoff({ baseDelayMs: 5, maxDelayMs: 100 });
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.when("k"))).toEqual([5, 10, 20, 40, 80, 100, 100]);
    expect(b.numRequeues("k")).toBe(7);
    expect(b.when("other")).toBe(5);
    b.forget("k");
    expect(b.numRequeues("k")).toBe(0);
    expect(b.when("k")).toBe(5);
  });

  it("draws a jittered delay from [0, delay)", () => {
    const b = new ExponentialBackoff({ baseDelayMs: 100, maxDelayMs: 1000, jitter: true, random: () => 0.5 });
    expect([b.when("k"), b.when("k"), b.when("k")]).toEqual([50, 100, 200]);
  });

  it("does not overflow after very many failures", () => {
    expect(new ExponentialBackoff({ baseDelayMs: 5, maxDelayMs: 1000 }).delayFor(10_000)).toBe(1000);
  });
});

describe("retryWithBackoff", () => {
  it("tries again while the error is worth it, up to its attempts, and gives up with the last error", async () => {
    let calls = 0;
    const fast = new ExponentialBackoff({ baseDelayMs: 1, maxDelayMs: 1 });
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error(`try ${calls}`);
        },
        { backoff: fast, attempts: 3 },
      ),
    ).rejects.toThrow("try 3");
    calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw new Error("fatal");
        },
        { backoff: fast, retry: () => false },
      ),
    ).rejects.toThrow("fatal");
    expect(calls).toBe(1);
    expect(await retryWithBackoff(async () => (++calls > 3 ? "done" : Promise.reject(new Error("not yet"))), { backoff: fast })).toBe(
      "done",
    );
  });
});
