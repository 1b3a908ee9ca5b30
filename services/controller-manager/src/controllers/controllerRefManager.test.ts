import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LabelSelector, PodSchema, ReplicaSetSchema, type Pod } from "@kubelab/api";
import { claimDecision, claimObjects } from "./controllerRefManager.js";
import { newControllerRef } from "./ownerRefs.js";

const owner = (deleting = false) =>
  create(ReplicaSetSchema, {
    metadata: { name: "rs", namespace: "d", uid: "rs-uid", deletionTimestamp: deleting ? "2026-11-29T10:00:00Z" : "" },
  });
const pod = (labels: Record<string, string>, controller?: string, deleting = false): Pod =>
  create(PodSchema, {
    metadata: {
      name: `p-${controller ?? "orphan"}-${JSON.stringify(labels)}`,
      namespace: "d",
      uid: "pod-uid",
      labels,
      deletionTimestamp: deleting ? "2026-11-29T10:00:00Z" : "",
      ownerReferences: controller
        ? [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: controller, uid: `${controller}-uid`, controller: true }]
        : [],
    },
  });
const app = LabelSelector.parse("app=web");

describe("claimDecision (Kubernetes' ControllerRefManager.ClaimObject)", () => {
  const cases: Array<{ name: string; owner: ReturnType<typeof owner>; obj: Pod; want: string }> = [
    { name: "keeps what it controls while the labels match", owner: owner(), obj: pod({ app: "web" }, "rs"), want: "keep" },
    { name: "releases what it controls once the labels stop matching", owner: owner(), obj: pod({ app: "db" }, "rs"), want: "release" },
    { name: "does not release while the owner is being deleted", owner: owner(true), obj: pod({ app: "db" }, "rs"), want: "ignore" },
    {
      name: "leaves what another controller controls, even if it matches",
      owner: owner(),
      obj: pod({ app: "web" }, "other"),
      want: "ignore",
    },
    { name: "adopts a matching orphan", owner: owner(), obj: pod({ app: "web" }), want: "adopt" },
    { name: "does not adopt an orphan that does not match", owner: owner(), obj: pod({ app: "db" }), want: "ignore" },
    { name: "does not adopt while the owner is being deleted", owner: owner(true), obj: pod({ app: "web" }), want: "ignore" },
    { name: "does not adopt an orphan being deleted", owner: owner(), obj: pod({ app: "web" }, undefined, true), want: "ignore" },
  ];
  for (const c of cases) it(c.name, () => expect(claimDecision(c.owner, app, c.obj)).toBe(c.want));
});

describe("claimObjects", () => {
  it("returns what it keeps and adopts, and writes the owner references of what it adopts and releases", async () => {
    const rs = owner();
    const writes: Array<{ name: string; owners: string[] }> = [];
    const mine = await claimObjects(
      rs,
      newControllerRef(rs, "apps/v1", "ReplicaSet"),
      app,
      [pod({ app: "web" }, "rs"), pod({ app: "db" }, "rs"), pod({ app: "web" }), pod({ app: "web" }, "other")],
      async (p, refs) => {
        writes.push({ name: p.metadata!.name, owners: refs.map((r) => String(r.uid)) });
        return p;
      },
    );
    expect(mine.map((p) => p.metadata!.name)).toEqual(['p-rs-{"app":"web"}', 'p-orphan-{"app":"web"}']);
    expect(writes).toEqual([
      { name: 'p-rs-{"app":"db"}', owners: [] },
      { name: 'p-orphan-{"app":"web"}', owners: ["rs-uid"] },
    ]);
  });

  it("leaves out an orphan whose adoption did not go through (it changed or went)", async () => {
    const rs = owner();
    const mine = await claimObjects(rs, newControllerRef(rs, "apps/v1", "ReplicaSet"), app, [pod({ app: "web" })], async () => undefined);
    expect(mine).toEqual([]);
  });
});
