import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodSchema, type Pod } from "@kubelab/api";
import type { RuntimeContainer } from "../runtime/dockerRuntime.js";
import { rc } from "../testing/runtimeContainers.js";
import { computePodStatus } from "./podStatus.js";
import type { Waiting } from "./podStatus.js";

function podWith(restartPolicy: string, init = false): Pod {
  return create(PodSchema, {
    metadata: { name: "p", namespace: "default", uid: "u" },
    spec: {
      restartPolicy,
      initContainers: init ? [{ name: "setup", image: "i" }] : [],
      containers: [{ name: "app", image: "i" }],
    },
    status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "True" }] },
  });
}

function status(pod: Pod, containers: RuntimeContainer[], waiting = new Map<string, Waiting>(), ready = true) {
  return computePodStatus({
    pod,
    containers,
    podIP: "10.0.0.5",
    hostIP: "172.18.0.2",
    waiting,
    ready: () => ready,
    started: () => true,
    now: "2026-01-01T00:01:00Z",
  });
}

describe("computePodStatus", () => {
  it("a running, ready container makes a Running, Ready pod", () => {
    const s = status(podWith("Always"), [rc({})]);
    expect(s.phase).toBe("Running");
    expect(s.podIp).toBe("10.0.0.5");
    expect(s.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(s.containerStatuses[0]?.state?.running?.startedAt).toBe("2026-01-01T00:00:00Z");
  });

  it("a failing readiness probe keeps the pod Running but not Ready, naming the container", () => {
    const s = status(podWith("Always"), [rc({})], new Map(), false);
    const ready = s.conditions.find((c) => c.type === "Ready")!;
    expect(s.phase).toBe("Running");
    expect(ready.status).toBe("False");
    expect(ready.reason).toBe("ContainersNotReady");
    expect(ready.message).toBe("containers with unready status: [app]");
  });

  it("a crash loop shows CrashLoopBackOff with the last termination and the restart count", () => {
    const waiting = new Map([
      ["app", { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=app pod=p_default(u)" }],
    ]);
    const s = status(
      podWith("Always"),
      [
        rc({ id: "c1", attempt: 1, state: "exited", exitCode: 3, finishedAt: "2026-01-01T00:00:30Z" }),
        rc({ attempt: 0, state: "exited", exitCode: 3 }),
      ],
      waiting,
    );
    const cs = s.containerStatuses[0]!;
    expect(s.phase).toBe("Running");
    expect(cs.state?.waiting?.reason).toBe("CrashLoopBackOff");
    expect(cs.lastState?.terminated?.exitCode).toBe(3);
    expect(cs.lastState?.terminated?.reason).toBe("Error");
    expect(cs.restartCount).toBe(1);
  });

  it("an OOM kill is reported as OOMKilled, and with restartPolicy Never the pod Failed", () => {
    const s = status(podWith("Never"), [rc({ state: "exited", exitCode: 137, oomKilled: true })]);
    expect(s.containerStatuses[0]?.state?.terminated?.reason).toBe("OOMKilled");
    expect(s.phase).toBe("Failed");
    expect(s.conditions.find((c) => c.type === "Ready")?.reason).toBe("PodCompleted");
  });

  it("exit 0 under OnFailure is Succeeded; a pending init container keeps the pod Pending and not Initialized", () => {
    expect(status(podWith("OnFailure"), [rc({ state: "exited", exitCode: 0 })]).phase).toBe("Succeeded");
    const s = status(podWith("Always", true), [rc({ name: "setup", type: "init", state: "running" })]);
    expect(s.phase).toBe("Pending");
    const init = s.conditions.find((c) => c.type === "Initialized")!;
    expect(init.status).toBe("False");
    expect(init.message).toBe("containers with incomplete status: [setup]");
    expect(s.containerStatuses[0]?.state?.waiting?.reason).toBe("PodInitializing");
  });

  it("keeps the scheduler's PodScheduled condition and a transition time that did not change", () => {
    const pod = podWith("Always");
    const first = status(pod, [rc({})]);
    pod.status = first;
    const again = computePodStatus({
      pod,
      containers: [rc({})],
      podIP: "10.0.0.5",
      hostIP: "172.18.0.2",
      waiting: new Map(),
      ready: () => true,
      started: () => true,
      now: "2026-01-01T00:09:00Z",
    });
    expect(again.conditions.find((c) => c.type === "Ready")?.lastTransitionTime).toBe("2026-01-01T00:01:00Z");
    expect(again.conditions.filter((c) => c.type === "PodScheduled")).toHaveLength(1);
  });
});
