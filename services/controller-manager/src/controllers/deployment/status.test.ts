import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { DeploymentSchema, ReplicaSetSchema } from "@kubelab/api";
import { deploymentStatus } from "./status.js";

const rs = (name: string, replicas: number, available: number) =>
  create(ReplicaSetSchema, {
    metadata: { name },
    spec: { replicas },
    status: { replicas, readyReplicas: available, availableReplicas: available },
  });

describe("deploymentStatus", () => {
  const d = create(DeploymentSchema, { metadata: { name: "web", generation: 2 }, spec: { replicas: 3, progressDeadlineSeconds: 600 } });

  it("sums the ReplicaSets and says when the new one has progressed", () => {
    const { status } = deploymentStatus(d, [rs("old", 0, 0), rs("new", 3, 3)], rs("new", 3, 3), { created: false, scaled: false });
    expect(status).toMatchObject({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3, unavailableReplicas: 0 });
    expect(status.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Available", "True", "MinimumReplicasAvailable"],
      ["Progressing", "True", "NewReplicaSetAvailable"],
    ]);
    expect(status.conditions[1]!.message).toBe('ReplicaSet "new" has successfully progressed.');
  });

  it("times out a rollout that stopped moving", () => {
    const stuck = create(DeploymentSchema, {
      metadata: { name: "web", generation: 2 },
      spec: { replicas: 3, progressDeadlineSeconds: 600 },
      status: {
        replicas: 4,
        readyReplicas: 3,
        availableReplicas: 3,
        updatedReplicas: 1,
        conditions: [
          {
            type: "Progressing",
            status: "True",
            reason: "ReplicaSetUpdated",
            lastUpdateTime: "2020-01-01T00:00:00Z",
            lastTransitionTime: "2020-01-01T00:00:00Z",
          },
        ],
      },
    });
    const { status } = deploymentStatus(stuck, [rs("old", 3, 3), rs("new", 1, 0)], rs("new", 1, 0), { created: false, scaled: false });
    const p = status.conditions.find((c) => c.type === "Progressing")!;
    expect([p.status, p.reason, p.message]).toEqual(["False", "ProgressDeadlineExceeded", 'ReplicaSet "new" has timed out progressing.']);
  });
});
