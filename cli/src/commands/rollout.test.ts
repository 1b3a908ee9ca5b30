import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { DeploymentSchema } from "@kubelab/api";
import { rolloutMessage } from "./rollout.js";

const dep = (status: Record<string, unknown>, generation = 2, replicas = 3) =>
  create(DeploymentSchema, {
    metadata: { name: "web", generation },
    spec: { replicas },
    status: { observedGeneration: 2, ...status } as never,
  });

describe("rolloutMessage", () => {
  it("words each stage as kubectl rollout status does", () => {
    expect(rolloutMessage(dep({}, 3)).message).toBe("Waiting for deployment spec update to be observed...");
    expect(rolloutMessage(dep({ updatedReplicas: 1, replicas: 4 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    );
    expect(rolloutMessage(dep({ updatedReplicas: 3, replicas: 4 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    );
    expect(rolloutMessage(dep({ updatedReplicas: 3, replicas: 3, availableReplicas: 2 })).message).toBe(
      'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...',
    );
    expect(rolloutMessage(dep({ updatedReplicas: 3, replicas: 3, availableReplicas: 3 }))).toEqual({
      message: 'deployment "web" successfully rolled out',
      done: true,
      failed: false,
    });
  });

  it("fails on ProgressDeadlineExceeded", () => {
    const r = rolloutMessage(
      dep({ updatedReplicas: 1, replicas: 4, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] }),
    );
    expect(r).toEqual({ message: 'deployment "web" exceeded its progress deadline', done: true, failed: true });
  });
});
