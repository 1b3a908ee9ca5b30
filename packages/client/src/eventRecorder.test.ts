import { create } from "@bufbuild/protobuf";
import { PodSchema, type Event } from "@kubelab/api";
import { describe, expect, it, vi } from "vitest";
import type { ApiClient } from "./apiClient.js";
import { EventRecorder } from "./eventRecorder.js";

/** An API client that holds every write until release() and remembers what was sent. */
function fakeClient() {
  const sent: Array<{ op: "create" | "patch"; name: string; reason?: string; count?: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const held: Array<() => void> = [];
  const hold = async () => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((r) => held.push(r));
    inFlight--;
  };
  const client = {
    async create(ev: Event) {
      await hold();
      if (ev.reason === "Fails") throw new Error("refused");
      sent.push({ op: "create", name: ev.metadata!.name, reason: ev.reason });
      return ev;
    },
    async patch(_kind: string, _ns: string, name: string, patch: { count: number }) {
      await hold();
      sent.push({ op: "patch", name, count: patch.count });
    },
  } as unknown as ApiClient;
  /** Lets every held write finish, until none is held after a turn of the event loop. */
  const release = async () => {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (held.length === 0) return;
      for (const r of held.splice(0)) r();
    }
  };
  return { client, sent, release, maxInFlight: () => maxInFlight, held };
}

const pod = (name: string) => create(PodSchema, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", uid: `uid-${name}` } });

describe("EventRecorder", () => {
  it("sends a lone event at once, and what queues while it is in flight together after it", async () => {
    const f = fakeClient();
    const rec = new EventRecorder(f.client, { component: "kubelet", host: "node-1" });
    rec.event(pod("a"), "Normal", "Pulled", "already present");
    await new Promise((r) => setImmediate(r));
    expect(f.held.length).toBe(1);
    for (const n of ["b", "c", "d"]) rec.event(pod(n), "Normal", "Started", `Started container ${n}`);
    expect(f.held.length).toBe(1);
    await f.release();
    await rec.flush();
    expect(f.sent.map((s) => s.reason)).toEqual(["Pulled", "Started", "Started", "Started"]);
    expect(f.maxInFlight()).toBe(3);
  });

  it("stamps each event with when it happened, to the microsecond, and which copy of its component wrote it", async () => {
    const created: Event[] = [];
    const client = {
      create: async (ev: Event) => {
        created.push(ev);
        return ev;
      },
    } as unknown as ApiClient;
    const at = Date.parse("2026-11-29T10:26:32.123Z");
    vi.useFakeTimers({ now: at });
    try {
      new EventRecorder(client, { component: "default-scheduler", instance: "default-scheduler-host1" }).event(
        pod("a"),
        "Normal",
        "Scheduled",
        "assigned",
      );
      new EventRecorder(client, { component: "kubelet", host: "node-1" }).event(pod("b"), "Normal", "Pulled", "present");
      await vi.advanceTimersByTimeAsync(5_000); // sent later: the time stays when it happened
    } finally {
      vi.useRealTimers();
    }
    expect(created.map((e) => [e.eventTime, e.firstTimestamp, e.reportingComponent, e.reportingInstance])).toEqual([
      ["2026-11-29T10:26:32.123000Z", "2026-11-29T10:26:32Z", "default-scheduler", "default-scheduler-host1"],
      ["2026-11-29T10:26:32.123000Z", "2026-11-29T10:26:32Z", "kubelet", "node-1"],
    ]);
  });

  it("sends repeats of one event in order, so they count up one Event", async () => {
    const f = fakeClient();
    const rec = new EventRecorder(f.client, { component: "kubelet" });
    rec.event(pod("other"), "Normal", "Pulled", "x");
    for (let i = 0; i < 3; i++) rec.event(pod("a"), "Warning", "BackOff", "Back-off restarting failed container");
    await f.release();
    await rec.flush();
    const backoff = f.sent.filter((s) => s.name.startsWith("a."));
    expect(backoff.map((s) => [s.op, s.count])).toEqual([
      ["create", undefined],
      ["patch", 2],
      ["patch", 3],
    ]);
    expect(new Set(backoff.map((s) => s.name)).size).toBe(1);
  });

  it("names the events of one object in one batch apart, and a failure drops only its own event", async () => {
    const f = fakeClient();
    const errors: unknown[] = [];
    const rec = new EventRecorder(f.client, { component: "kubelet" }, (e) => errors.push(e));
    // The same random part for all: names must still differ (and do not rest on chance).
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    rec.event(pod("first"), "Normal", "Scheduled", "x");
    for (const reason of ["Pulled", "Created", "Fails", "Started"]) rec.event(pod("a"), "Normal", reason, reason);
    await f.release();
    await rec.flush();
    const names = f.sent.filter((s) => s.name.startsWith("a.")).map((s) => s.name);
    expect(names).toHaveLength(3);
    expect(new Set(names).size).toBe(3);
    expect(errors).toHaveLength(1);
    vi.restoreAllMocks();
  });
});
