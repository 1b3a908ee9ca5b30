import { create } from "@bufbuild/protobuf";
import {
  DeploymentConditionSchema,
  DeploymentStatusSchema,
  type Deployment,
  type DeploymentCondition,
  type DeploymentStatus,
  type ReplicaSet,
  formatTime,
} from "@kubelab/api";
import { resolveFenceposts } from "./rollingMath.js";

function condition(
  old: DeploymentCondition | undefined,
  type: string,
  status: string,
  reason: string,
  message: string,
  touched: boolean,
): DeploymentCondition {
  const t = formatTime();
  const same = old?.status === status && old.reason === reason;
  return create(DeploymentConditionSchema, {
    type,
    status,
    reason,
    message,
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : t,
    lastUpdateTime: same && !touched && old?.lastUpdateTime ? old.lastUpdateTime : t,
  });
}

/**
 * The Deployment's status from its ReplicaSets, with Kubernetes' conditions: Available (minimum
 * availability) and Progressing (NewReplicaSetCreated, ReplicaSetUpdated, NewReplicaSetAvailable,
 * or ProgressDeadlineExceeded when nothing moved for progressDeadlineSeconds).
 */
export function deploymentStatus(
  d: Deployment,
  all: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  changed: { created: boolean; scaled: boolean },
): { status: DeploymentStatus; recheckInMs?: number } {
  const desired = d.spec?.replicas ?? 1;
  const sum = (f: (rs: ReplicaSet) => number) => all.reduce((n, rs) => n + f(rs), 0);
  const old = d.status;
  const status = create(DeploymentStatusSchema, {
    observedGeneration: d.metadata!.generation,
    replicas: sum((rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: sum((rs) => rs.status?.availableReplicas ?? 0),
    collisionCount: old?.collisionCount,
  });
  status.unavailableReplicas = Math.max(0, desired - status.availableReplicas);
  const conds = old?.conditions ?? [];
  const prevAvailable = conds.find((c) => c.type === "Available");
  const prevProgressing = conds.find((c) => c.type === "Progressing");

  const { maxUnavailable } = resolveFenceposts(d);
  const minAvailable = d.spec?.strategy?.type === "Recreate" ? desired : desired - maxUnavailable;
  const available =
    status.availableReplicas >= minAvailable
      ? condition(prevAvailable, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", false)
      : condition(
          prevAvailable,
          "Available",
          "False",
          "MinimumReplicasUnavailable",
          "Deployment does not have minimum availability.",
          false,
        );

  const name = newRS?.metadata?.name ?? "";
  const complete = !!newRS && status.updatedReplicas === desired && status.replicas === desired && status.availableReplicas === desired;
  const moved =
    changed.created ||
    changed.scaled ||
    (old !== undefined &&
      (status.availableReplicas > old.availableReplicas ||
        status.updatedReplicas > old.updatedReplicas ||
        status.readyReplicas > old.readyReplicas));
  const deadline = (d.spec?.progressDeadlineSeconds ?? 600) * 1000;
  let progressing: DeploymentCondition;
  let recheckInMs: number | undefined;
  if (d.spec?.paused) {
    progressing = condition(prevProgressing, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", false);
  } else if (complete) {
    progressing = condition(
      prevProgressing,
      "Progressing",
      "True",
      "NewReplicaSetAvailable",
      `ReplicaSet "${name}" has successfully progressed.`,
      prevProgressing?.reason !== "NewReplicaSetAvailable",
    );
  } else if (changed.created) {
    progressing = condition(prevProgressing, "Progressing", "True", "NewReplicaSetCreated", `Created new replica set "${name}"`, true);
    recheckInMs = deadline;
  } else if (
    moved ||
    !prevProgressing ||
    prevProgressing.reason === "NewReplicaSetAvailable" ||
    prevProgressing.reason === "DeploymentPaused"
  ) {
    progressing = condition(prevProgressing, "Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "${name}" is progressing.`, true);
    recheckInMs = deadline;
  } else if (prevProgressing.reason === "ProgressDeadlineExceeded") {
    progressing = prevProgressing;
  } else {
    const since = Date.parse(prevProgressing.lastUpdateTime) || Date.now();
    if (Date.now() - since >= deadline) {
      progressing = condition(
        prevProgressing,
        "Progressing",
        "False",
        "ProgressDeadlineExceeded",
        `ReplicaSet "${name}" has timed out progressing.`,
        true,
      );
    } else {
      progressing = prevProgressing;
      recheckInMs = since + deadline - Date.now() + 100;
    }
  }
  status.conditions = [available, progressing];
  return { status, recheckInMs };
}
