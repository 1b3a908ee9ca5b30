import { describe, expect, it } from "vitest";
import { backendOf } from "../rules/servicePorts.js";
import { BackendPool } from "./backendPool.js";

const b = (n: number) => backendOf(`10.0.0.${n}`, 8080, `web-${n}`, "node-1");

describe("BackendPool", () => {
  it("spreads one-at-a-time requests evenly, in turn", () => {
    const pool = new BackendPool("least-request");
    pool.update([b(1), b(2), b(3)], 0);
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const got = pool.pick("10.1.0.1")!;
      pool.acquire(got);
      counts.set(got.ip, (counts.get(got.ip) ?? 0) + 1);
      pool.release(got);
    }
    expect([...counts.values()]).toEqual([100, 100, 100]);
  });

  it("sends the next request to the endpoint with the fewest in flight", () => {
    const pool = new BackendPool("least-request");
    pool.update([b(1), b(2)], 0);
    const first = pool.pick("c")!;
    pool.acquire(first);
    pool.acquire(first);
    const second = pool.pick("c")!;
    expect(second.ip).not.toBe(first.ip);
    pool.acquire(second);
    expect(pool.pick("c")!.ip).toBe(second.ip);
  });

  it("skips endpoints already tried, and has none when all were", () => {
    const pool = new BackendPool("round-robin");
    pool.update([b(1), b(2)], 0);
    expect(pool.pick("c", new Set(["10.0.0.1:8080"]))!.ip).toBe("10.0.0.2");
    expect(pool.pick("c", new Set(["10.0.0.1:8080", "10.0.0.2:8080"]))).toBeUndefined();
    pool.update([], 0);
    expect(pool.pick("c")).toBeUndefined();
  });

  it("keeps a client on its endpoint with ClientIP affinity, until that endpoint goes", () => {
    const pool = new BackendPool("least-request");
    pool.update([b(1), b(2), b(3)], 60);
    const first = pool.pick("10.1.0.9")!;
    for (let i = 0; i < 10; i++) expect(pool.pick("10.1.0.9")!.ip).toBe(first.ip);
    expect(pool.pick("10.1.0.10")!.ip).not.toBe(first.ip);
    pool.update(
      [b(1), b(2), b(3)].filter((x) => x.ip !== first.ip),
      60,
    );
    expect(pool.pick("10.1.0.9")!.ip).not.toBe(first.ip);
  });
});
