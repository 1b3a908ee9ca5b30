import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PodSchema, type Container, type Pod } from "@kubelab/api";
import type { RuntimeContainer } from "../runtime/dockerRuntime.js";
import { rc } from "../testing/runtimeContainers.js";
import { planContainers, planSandbox, type ContainerObservation } from "./podSyncPlan.js";

const exited = (name: string, exitCode: number, attempt = 0, type: RuntimeContainer["type"] = "app") =>
  rc({ name, type, attempt, state: "exited", exitCode, finishedAt: "2026-01-01T00:00:10Z" });

function pod(opts: { restartPolicy?: string; init?: string[]; apps?: string[]; phase?: string; deleting?: boolean } = {}): Pod {
  return create(PodSchema, {
    metadata: { name: "p", namespace: "default", uid: "u", deletionTimestamp: opts.deleting ? "2026-01-01T00:00:30Z" : "" },
    spec: {
      restartPolicy: opts.restartPolicy ?? "Always",
      initContainers: (opts.init ?? []).map((name) => ({ name, image: "i" })),
      containers: (opts.apps ?? ["app"]).map((name) => ({ name, image: "i" })),
    },
    status: { phase: opts.phase ?? "Running" },
  });
}

/** The plan as short strings: "start app#1", "restart app (why)", "backOff app 5000", "settled app". */
function plan(p: Pod, containers: RuntimeContainer[], over: Partial<ContainerObservation> = {}) {
  const r = planContainers({ pod: p, containers, restartReason: () => undefined, crashBackoffMs: () => 0, ...over });
  const actions = r.actions.map((a) => {
    switch (a.kind) {
      case "start":
        return `start ${a.type} ${a.container.name}#${a.attempt}${a.afterExit ? " after exit" : ""}`;
      case "restart":
        return `restart ${a.container.name} (${a.reason})`;
      case "backOff":
        return `backOff ${a.container.name} ${a.waitMs}`;
      case "settled":
        return `settled ${a.container.name}`;
    }
  });
  return { actions, podFailed: r.podFailed };
}

describe("planSandbox", () => {
  const sandbox = (state: string, attempt = 0) => rc({ name: "POD", type: "sandbox", state, attempt });
  it("terminates a pod being deleted, before anything else", () => {
    expect(planSandbox(pod({ deleting: true, phase: "Succeeded" }), [sandbox("running")]).kind).toBe("terminate");
  });
  it("stops what runs of a finished pod instead of syncing it", () => {
    expect(planSandbox(pod({ phase: "Failed" }), [sandbox("running")]).kind).toBe("finished");
  });
  it("keeps the newest sandbox while it runs", () => {
    const newest = sandbox("running", 2);
    expect(planSandbox(pod(), [sandbox("exited", 1), newest])).toEqual({ kind: "keep", sandbox: newest });
  });
  it("makes a new sandbox when there is none, and replaces one that stopped", () => {
    expect(planSandbox(pod(), [])).toEqual({ kind: "create" });
    const dead = sandbox("exited", 3);
    expect(planSandbox(pod(), [sandbox("exited", 1), dead])).toEqual({ kind: "create", replacing: dead });
  });
});

describe("planContainers", () => {
  it("starts every app container of a new pod at attempt 0", () => {
    expect(plan(pod({ apps: ["a", "b"] }), [])).toEqual({ actions: ["start app a#0", "start app b#0"], podFailed: false });
  });

  it("runs init containers one at a time, in order, before any app container", () => {
    const p = pod({ init: ["first", "second"], apps: ["app"] });
    expect(plan(p, []).actions).toEqual(["start init first#0"]);
    expect(plan(p, [rc({ name: "first", type: "init" })]).actions).toEqual([]);
    expect(plan(p, [exited("first", 0, 0, "init")]).actions).toEqual(["start init second#0"]);
    expect(plan(p, [exited("first", 0, 0, "init"), exited("second", 0, 0, "init")]).actions).toEqual(["start app app#0"]);
  });

  it("retries a failed init container after its back-off, and fails the pod under restartPolicy Never", () => {
    const p = pod({ init: ["setup"] });
    expect(plan(p, [exited("setup", 1, 0, "init")]).actions).toEqual(["start init setup#1 after exit"]);
    expect(plan(p, [exited("setup", 1, 0, "init")], { crashBackoffMs: () => 5000 }).actions).toEqual(["backOff setup 5000"]);
    expect(plan(pod({ init: ["setup"], restartPolicy: "Never" }), [exited("setup", 1, 0, "init")])).toEqual({
      actions: [],
      podFailed: true,
    });
  });

  it("leaves a running container that need not restart settled, and restarts one its probes or spec condemn", () => {
    expect(plan(pod(), [rc({})]).actions).toEqual(["settled app"]);
    expect(plan(pod(), [rc({})], { restartReason: () => "liveness failed" }).actions).toEqual(["restart app (liveness failed)"]);
  });

  it("restarts an exited container as its restart policy says", () => {
    const cases: Array<[string, number, string]> = [
      ["Always", 0, "start app app#1 after exit"],
      ["Always", 1, "start app app#1 after exit"],
      ["OnFailure", 1, "start app app#1 after exit"],
      ["OnFailure", 0, "settled app"],
      ["Never", 1, "settled app"],
      ["Never", 0, "settled app"],
    ];
    for (const [restartPolicy, code, want] of cases)
      expect(plan(pod({ restartPolicy }), [exited("app", code)]).actions, `${restartPolicy} after exit ${code}`).toEqual([want]);
  });

  it("restarts under OnFailure a container that never started, whatever its exit code", () => {
    expect(plan(pod({ restartPolicy: "OnFailure" }), [rc({ state: "created", startedAt: "", exitCode: 0 })]).actions).toEqual([
      "start app app#1 after exit",
    ]);
  });

  it("holds an exited container back while its CrashLoopBackOff runs", () => {
    expect(plan(pod(), [exited("app", 1)], { crashBackoffMs: () => 20_000 }).actions).toEqual(["backOff app 20000"]);
  });

  it("takes the newest attempt of each container", () => {
    expect(plan(pod(), [exited("app", 1, 0), rc({ attempt: 1 })]).actions).toEqual(["settled app"]);
    expect(plan(pod(), [rc({ attempt: 0 }), exited("app", 1, 1)]).actions).toEqual(["start app app#2 after exit"]);
  });

  it("leaves a container Docker is restarting or pausing alone", () => {
    expect(plan(pod(), [rc({ state: "restarting" })]).actions).toEqual([]);
    expect(plan(pod(), [rc({ state: "paused" })]).actions).toEqual([]);
  });

  it("asks the probes about the running container it names", () => {
    const asked: Array<[string, string]> = [];
    plan(pod({ apps: ["a", "b"] }), [rc({ name: "a", id: "ida" }), rc({ name: "b", id: "idb" })], {
      restartReason: (c: Container, running: RuntimeContainer) => {
        asked.push([c.name, running.id]);
        return undefined;
      },
    });
    expect(asked).toEqual([
      ["a", "ida"],
      ["b", "idb"],
    ]);
  });
});
