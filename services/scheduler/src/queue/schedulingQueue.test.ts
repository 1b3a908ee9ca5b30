import { afterEach, describe, expect, it, vi } from "vitest";
import { SchedulingQueue } from "./schedulingQueue.js";

describe("SchedulingQueue", () => {
  afterEach(() => vi.useRealTimers());

  it("queues a key once, and backs off unschedulable pods doubling to the max", async () => {
    vi.useFakeTimers();
    const q = new SchedulingQueue(1000, 4000);
    q.add("a");
    q.add("a");
    expect(q.pending).toBe(1);
    expect(await q.pop()).toBe("a");
    expect([q.addUnschedulable("a"), q.addUnschedulable("a"), q.addUnschedulable("a"), q.addUnschedulable("a")]).toEqual([
      1000, 2000, 4000, 4000,
    ]);
    expect(q.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(4000);
    expect(await q.pop()).toBe("a");
    q.close();
  });

  it("moves every waiting pod back at once when the cluster changes", async () => {
    const q = new SchedulingQueue(60_000, 60_000);
    q.addUnschedulable("a");
    q.addUnschedulable("b");
    q.moveAllToActive();
    expect([await q.pop(), await q.pop()]).toEqual(["a", "b"]);
    q.delete("a");
    q.close();
    expect(await q.pop()).toBeUndefined();
  });
});
