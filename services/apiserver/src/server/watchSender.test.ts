import { describe, expect, it } from "vitest";
import { StallWatch, WatchSender, type TooSlow } from "./watchSender.js";

const ev = (n: number, size = 10) => new Uint8Array(size).fill(n);
const tick = () => new Promise((r) => setTimeout(r, 0));

/** A sender over a fake stream that takes each message when told (or at once). */
function harness(limits: { maxMessageBytes?: number; maxPendingBytes?: number; stallTimeoutMs?: number } = {}, autoTake = true) {
  const messages: number[][] = [];
  const waiting: Array<() => void> = [];
  const slow: TooSlow[] = [];
  const stallWatch = new StallWatch();
  const sender = new WatchSender(
    (batch, taken) => {
      messages.push(batch.map((b) => b[0]!));
      if (autoTake) queueMicrotask(taken);
      else waiting.push(taken);
    },
    (why) => slow.push(why),
    { maxMessageBytes: 100, maxPendingBytes: 1000, stallTimeoutMs: 1000, ...limits },
    stallWatch,
  );
  return { sender, messages, slow, stallWatch, takeOne: () => waiting.shift()?.() };
}

describe("WatchSender", () => {
  it("sends the events of one task as one message", async () => {
    const h = harness();
    h.sender.send(ev(1));
    h.sender.send(ev(2));
    h.sender.send(ev(3));
    await tick();
    expect(h.messages).toEqual([[1, 2, 3]]);
  });

  it("splits what waits into messages of at most maxMessageBytes, a larger event alone", async () => {
    const h = harness({ maxMessageBytes: 25 });
    for (const [n, size] of [
      [1, 10],
      [2, 10],
      [3, 10],
      [4, 40],
      [5, 10],
    ] as const)
      h.sender.send(ev(n, size));
    await tick();
    await tick();
    await tick();
    expect(h.messages).toEqual([[1, 2], [3], [4], [5]]);
  });

  it("sends the initial events, encoded as their turn comes, before any live event", async () => {
    const h = harness({ maxMessageBytes: 20 }, false);
    const encoded: number[] = [];
    const initial = [1, 2, 3, 4].map((n) => () => {
      encoded.push(n);
      return ev(n);
    });
    h.sender.sendInitial(initial);
    h.sender.send(ev(9));
    await tick();
    expect(h.messages).toEqual([[1, 2]]);
    // Only what went out, and the one that did not fit, were encoded.
    expect(encoded).toEqual([1, 2, 3]);
    h.takeOne();
    h.takeOne();
    h.takeOne();
    expect(h.messages).toEqual([[1, 2], [3, 4], [9]]);
    expect(encoded).toEqual([1, 2, 3, 4]);
  });

  it("closes a watcher as too slow once more than maxPendingBytes of live events wait", async () => {
    const h = harness({ maxPendingBytes: 35 }, false);
    h.sender.send(ev(1));
    await tick(); // 1 is in flight, never taken
    h.sender.send(ev(2));
    h.sender.send(ev(3));
    h.sender.send(ev(4));
    expect(h.slow).toEqual([]);
    h.sender.send(ev(5));
    expect(h.slow).toEqual(["pending-bytes"]);
    expect(h.sender.waitingBytes).toBe(0);
    h.sender.send(ev(6));
    expect(h.slow).toEqual(["pending-bytes"]);
  });

  it("closes a watcher whose message the stream has not taken within stallTimeoutMs, and not one that keeps taking", async () => {
    const stuck = harness({ stallTimeoutMs: 1000 }, false);
    stuck.sender.send(ev(1));
    await tick();
    const sentAt = Date.now();
    stuck.stallWatch.check(sentAt + 990);
    expect(stuck.slow).toEqual([]);
    stuck.stallWatch.check(sentAt + 1100);
    expect(stuck.slow).toEqual(["stalled"]);

    const steady = harness({ stallTimeoutMs: 1000 }, false);
    for (let i = 0; i < 5; i++) {
      steady.sender.send(ev(i));
      await tick();
      steady.stallWatch.check(Date.now() + 800);
      steady.takeOne();
    }
    // Nothing in flight: nothing can stall, however long it stays quiet.
    steady.stallWatch.check(Date.now() + 60_000);
    expect(steady.slow).toEqual([]);
    expect(steady.messages.flat()).toEqual([0, 1, 2, 3, 4]);
  });

  it("sends nothing once closed", async () => {
    const h = harness();
    h.sender.sendInitial([() => ev(1)]);
    h.sender.close();
    h.sender.send(ev(2));
    await tick();
    expect(h.messages).toEqual([]);
  });
});
