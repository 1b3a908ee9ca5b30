import { describe, expect, it, vi } from "vitest";
import { WorkQueue, runWorkers } from "./workQueue.js";
import { Indexer } from "./informer.js";

describe("WorkQueue", () => {
  it("queues a waiting key once however often it is added", async () => {
    const q = new WorkQueue<string>();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
  });

  it("never hands out a key being processed; a re-add comes back after done()", async () => {
    const q = new WorkQueue<string>();
    q.add("a");
    const key = await q.get();
    q.add("a");
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await new Promise((r) => setTimeout(r, 5));
    expect(second).toBeUndefined();
    q.done(key!);
    await new Promise((r) => setTimeout(r, 0));
    expect(second).toBe("a");
  });

  it("backs off failures exponentially per key until forget()", async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue<string>({ baseDelayMs: 10, maxDelayMs: 35 });
      const times: number[] = [];
      for (let i = 0; i < 4; i++) {
        q.addRateLimited("k");
        const start = Date.now();
        for (let waited = 0; q.length === 0 && waited < 1000; waited++) vi.advanceTimersByTime(1);
        times.push(Date.now() - start);
        q.done((await q.get())!);
      }
      expect(times).toEqual([10, 20, 35, 35]);
      expect(q.numRequeues("k")).toBe(4);
      q.forget("k");
      expect(q.numRequeues("k")).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("adds after a delay, and shutdown wakes waiting workers", async () => {
    const q = new WorkQueue<string>();
    q.addAfter("later", 20);
    expect(q.length).toBe(0);
    expect(await q.get()).toBe("later");
    const waiting = q.get();
    q.shutdown();
    expect(await waiting).toBeUndefined();
    q.add("ignored");
    expect(q.length).toBe(0);
  });

  it("runWorkers retries failures and never runs one key twice at once", async () => {
    const q = new WorkQueue<string>({ baseDelayMs: 1, maxDelayMs: 4 });
    const attempts = new Map<string, number>();
    const active = new Set<string>();
    let overlap = false;
    const done = new Set<string>();
    const workers = runWorkers(q, 3, async (key) => {
      if (active.has(key)) overlap = true;
      active.add(key);
      await new Promise((r) => setTimeout(r, 2));
      active.delete(key);
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (key === "flaky" && n < 3) throw new Error("not yet");
      done.add(key);
    });
    for (let i = 0; i < 5; i++) {
      q.add("flaky");
      q.add("steady");
      await new Promise((r) => setTimeout(r, 1));
    }
    while (!done.has("flaky")) await new Promise((r) => setTimeout(r, 2));
    q.shutdown();
    await workers;
    expect(overlap).toBe(false);
    expect(attempts.get("flaky")).toBeGreaterThanOrEqual(3);
    expect(q.numRequeues("flaky")).toBe(0);
  });
});

describe("Indexer", () => {
  it("keeps secondary indexes current through set and delete, including ones added later", () => {
    type Obj = { metadata: { name: string; labels: Record<string, string> } };
    const idx = new Indexer<never>();
    const o = (name: string, node: string) => ({ metadata: { name, labels: { node } } }) as unknown as never;
    idx.set("a", o("a", "n1"));
    idx.addIndex("node", (x) => [(x as Obj).metadata.labels.node]);
    idx.set("b", o("b", "n1"));
    idx.set("c", o("c", "n2"));
    expect(
      idx
        .byIndex("node", "n1")
        .map((x) => (x as Obj).metadata.name)
        .sort(),
    ).toEqual(["a", "b"]);
    idx.set("b", o("b", "n2"));
    expect(
      idx
        .byIndex("node", "n2")
        .map((x) => (x as Obj).metadata.name)
        .sort(),
    ).toEqual(["b", "c"]);
    idx.delete("c");
    expect(idx.byIndex("node", "n2").map((x) => (x as Obj).metadata.name)).toEqual(["b"]);
    expect(idx.size).toBe(2);
    expect(() => idx.byIndex("nope", "x")).toThrow("no index named nope");
  });
});
