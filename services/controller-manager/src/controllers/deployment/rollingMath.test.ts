import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { DeploymentSchema, ReplicaSetSchema, type ReplicaSet } from "@kubelab/api";
import { availableAboveMinimum, maxScaleDown, newReplicaSetReplicas, resolveFenceposts } from "./rollingMath.js";

const num = (n: number) => ({ kind: { case: "numberValue" as const, value: n } });
const pct = (s: string) => ({ kind: { case: "stringValue" as const, value: s } });
const dep = (
  replicas: number,
  maxSurge: ReturnType<typeof num> | ReturnType<typeof pct>,
  maxUnavailable: ReturnType<typeof num> | ReturnType<typeof pct>,
) => create(DeploymentSchema, { spec: { replicas, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge, maxUnavailable } } } });
const rs = (replicas: number, available = replicas): ReplicaSet =>
  create(ReplicaSetSchema, { spec: { replicas }, status: { replicas, availableReplicas: available } });

describe("rolling update arithmetic", () => {
  it("rounds maxSurge up and maxUnavailable down, and never lets both be zero", () => {
    expect(resolveFenceposts(dep(10, pct("25%"), pct("25%")))).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    expect(resolveFenceposts(dep(1, pct("25%"), pct("25%")))).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(resolveFenceposts(dep(3, num(0), num(0)))).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it("grows the new ReplicaSet up to replicas + maxSurge pods in all", () => {
    const d = dep(10, num(2), num(0));
    const old = rs(10);
    const fresh = rs(0, 0);
    expect(newReplicaSetReplicas(d, [old, fresh], fresh)).toBe(2);
    const grown = rs(2, 0);
    expect(newReplicaSetReplicas(d, [old, grown], grown)).toBe(2);
  });

  it("with maxUnavailable 0 scales old pods down only as new ones become available", () => {
    const d = dep(10, num(2), num(0));
    expect(maxScaleDown(d, [rs(10), rs(2, 0)], rs(2, 0))).toBe(0);
    expect(maxScaleDown(d, [rs(10), rs(2, 2)], rs(2, 2))).toBe(2);
    expect(availableAboveMinimum(d, [rs(10), rs(2, 2)])).toBe(2);
  });
});
