import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  LeaseSchema,
  NodeSchema,
  PodSchema,
  TAINT_NODE_NOT_READY as NOT_READY,
  TAINT_NODE_UNREACHABLE as UNREACHABLE,
  type TaintSchema,
  type TolerationSchema,
  type Node,
  type NodeCondition,
  type Pod,
  type Taint,
} from "@kubelab/api";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { drainQueue, newFixture, timestamp, type Fixture } from "../testing/fakes.js";
import { NodeLifecycleController } from "./nodeLifecycleController.js";

// After sample-controller's controller_test.go: nodes, leases and pods fed to the informers by
// hand, reconcile called directly under vitest's fake clock, the client's actions and the recorded
// events compared with the rule.

const T0 = new Date("2026-03-01T12:00:00Z");
const GRACE_SECONDS = 40;

type ReadyStatus = "True" | "False" | "Unknown";
type TaintInit = Omit<MessageInitShape<typeof TaintSchema>, "$typeName">;
type TolerationInit = Omit<MessageInitShape<typeof TolerationSchema>, "$typeName">;

const node = (name: string, opts: { ready?: ReadyStatus; heartbeatSecondsAgo?: number; taints?: TaintInit[] } = {}): Node =>
  create(NodeSchema, {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `uid-${name}`, resourceVersion: "7", creationTimestamp: timestamp(-3600) },
    spec: { taints: (opts.taints ?? []).map((t) => ({ value: "", timeAdded: "", ...t })) },
    status: {
      conditions: [
        {
          type: "MemoryPressure",
          status: "False",
          reason: "KubeletHasSufficientMemory",
          lastHeartbeatTime: timestamp(-(opts.heartbeatSecondsAgo ?? 0)),
        },
        ...(opts.ready
          ? [
              {
                type: "Ready",
                status: opts.ready,
                reason: "KubeletReady",
                lastHeartbeatTime: timestamp(-(opts.heartbeatSecondsAgo ?? 0)),
                lastTransitionTime: timestamp(-3000),
              },
            ]
          : []),
      ],
    },
  });

const lease = (name: string, renewedSecondsAgo: number) =>
  create(LeaseSchema, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: "kube-node-lease", uid: `uid-lease-${name}` },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: timestamp(-renewedSecondsAgo) },
  });

const unreachable = (effect: string, addedSecondsAgo = 0): TaintInit => ({
  key: UNREACHABLE,
  effect,
  timeAdded: timestamp(-addedSecondsAgo),
});
const notReady = (effect: string): TaintInit => ({ key: NOT_READY, effect, timeAdded: timestamp() });

/** The tolerations the API server's admission gives every pod (DefaultTolerationSeconds). */
const defaultTolerations = (seconds = 300): TolerationInit[] => [
  { key: NOT_READY, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds },
  { key: UNREACHABLE, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds },
];

const pod = (name: string, nodeName: string, opts: { tolerations?: TolerationInit[]; ready?: boolean; deleting?: boolean } = {}): Pod =>
  create(PodSchema, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      deletionTimestamp: opts.deleting ? timestamp(30) : "",
      deletionGracePeriodSeconds: opts.deleting ? 30 : undefined,
    },
    spec: { nodeName, containers: [{ name: "c", image: "busybox" }], tolerations: opts.tolerations ?? [] },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: opts.ready ? "True" : "False", lastTransitionTime: timestamp(-600) }],
    },
  });

const ready = (n: Node | undefined): NodeCondition | undefined => n?.status?.conditions.find((c) => c.type === "Ready");
const taintsOf = (taints: Taint[] | undefined) => (taints ?? []).map((t) => `${t.key}:${t.effect}`);

describe("NodeLifecycleController.reconcile", () => {
  let f: Fixture;
  let nlc: NodeLifecycleController;

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
    f = newFixture();
  });

  afterEach(() => {
    nlc?.stop();
    vi.useRealTimers();
  });

  /** Seeds the store and the caches and makes the controller; the keys its handlers queued for the caches are taken. */
  const start = async (...objs: Parameters<Fixture["seed"]>) => {
    f.seed(...objs);
    nlc = new NodeLifecycleController(f.ctx, { nodeMonitorGracePeriodSeconds: GRACE_SECONDS, nodeMonitorPeriodSeconds: 5 });
    await drain();
  };

  const drain = () => drainQueue(nlc.queue);

  const later = (seconds: number) => vi.advanceTimersByTime(seconds * 1000);
  const nodeStatusWrites = () => f.client.writes().filter((a) => a.verb === "updateStatus" && a.resource === "nodes");
  const taintPatches = () =>
    f.client
      .writes()
      .filter((a) => a.verb === "patch" && a.resource === "nodes")
      .map((a) => ((a.patch!.spec as { taints: Array<{ key: string; effect: string }> }).taints ?? []).map((t) => `${t.key}:${t.effect}`));
  const evicted = () =>
    f.client
      .writes()
      .filter((a) => a.verb === "delete" && a.resource === "pods")
      .map((a) => a.name);

  describe("node health", () => {
    it("a node whose lease is older than the grace period becomes Ready=Unknown with reason NodeStatusUnknown", async () => {
      await start(node("n1", { ready: "True", heartbeatSecondsAgo: 600 }), lease("n1", 0));
      await nlc.reconcile("n1");
      expect(f.client.writes()).toEqual([]);

      later(GRACE_SECONDS + 1);
      await nlc.reconcile("n1");

      const [write, ...more] = nodeStatusWrites();
      expect(more).toEqual([]);
      const sent = write!.object as Node;
      const cond = ready(sent)!;
      expect([cond.status, cond.reason, cond.message]).toEqual(["Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."]);
      // The last heartbeat stays what the kubelet last posted; the transition is now.
      expect(cond.lastHeartbeatTime).toBe("2026-03-01T11:50:00Z");
      expect(cond.lastTransitionTime).toBe("2026-03-01T12:00:41Z");
      // Other conditions are kept as they were.
      expect(sent.status!.conditions.map((c) => [c.type, c.status])).toEqual([
        ["MemoryPressure", "False"],
        ["Ready", "Unknown"],
      ]);
      expect(ready(f.client.object<Node>("nodes", "", "n1"))?.status).toBe("Unknown");
      expect(f.recorder.lines()).toEqual(["Normal NodeNotReady Node n1 status is now: NodeNotReady"]);
    });

    it("a node is not Unknown at exactly the grace period, and is looked at again just after it", async () => {
      await start(node("n1", { ready: "True", heartbeatSecondsAgo: 600 }), lease("n1", 0));
      await nlc.reconcile("n1");
      await drain();

      later(GRACE_SECONDS);
      await nlc.reconcile("n1");

      expect(f.client.writes()).toEqual([]);
      later(0.099);
      expect(nlc.queue.length).toBe(0);
      later(0.001);
      expect(nlc.queue.length).toBe(1);
    });

    it("a recent status heartbeat counts as much as a recent lease", async () => {
      await start(node("n1", { ready: "True", heartbeatSecondsAgo: 0 }), lease("n1", 3600));
      await nlc.reconcile("n1");

      later(GRACE_SECONDS);
      await nlc.reconcile("n1");

      expect(f.client.writes()).toEqual([]);
    });

    it("a node seen for the first time gets a full grace period even when its lease is old (from the controller's first observation)", async () => {
      await start(node("n1", { ready: "True", heartbeatSecondsAgo: 600 }), lease("n1", 600));

      await nlc.reconcile("n1");
      expect(f.client.writes()).toEqual([]);

      later(GRACE_SECONDS);
      await nlc.reconcile("n1");
      expect(f.client.writes()).toEqual([]);

      later(1);
      await nlc.reconcile("n1");
      expect(ready(nodeStatusWrites()[0]?.object as Node)?.status).toBe("Unknown");
    });

    it("a node deleted and added again is observed afresh", async () => {
      const n1 = node("n1", { ready: "True", heartbeatSecondsAgo: 600 });
      await start(n1, lease("n1", 600));
      await nlc.reconcile("n1");
      later(GRACE_SECONDS + 1);

      f.informers.for<Node>("nodes").delete(n1);
      f.informers.for<Node>("nodes").add(n1);
      await nlc.reconcile("n1");

      expect(f.client.writes()).toEqual([]);
    });

    it("a node already Ready=Unknown is not written again", async () => {
      await start(
        node("n1", { ready: "Unknown", heartbeatSecondsAgo: 600, taints: [unreachable("NoSchedule"), unreachable("NoExecute")] }),
        lease("n1", 600),
      );
      await nlc.reconcile("n1");
      later(GRACE_SECONDS + 1);

      await nlc.reconcile("n1");

      expect(f.client.writes()).toEqual([]);
      expect(f.recorder.events).toEqual([]);
    });

    it("marks the ready pods of a node that becomes Unknown not ready, and leaves other nodes' pods", async () => {
      await start(
        node("n1", { ready: "True", heartbeatSecondsAgo: 600 }),
        lease("n1", 0),
        pod("on-n1", "n1", { ready: true, tolerations: defaultTolerations() }),
        pod("on-n1-not-ready", "n1", { ready: false, tolerations: defaultTolerations() }),
        pod("on-n2", "n2", { ready: true }),
      );
      await nlc.reconcile("n1");
      later(GRACE_SECONDS + 1);

      await nlc.reconcile("n1");

      const podWrites = f.client.writes().filter((a) => a.resource === "pods");
      expect(podWrites.map((a) => [a.verb, a.name])).toEqual([["updateStatus", "on-n1"]]);
      const c = (podWrites[0]!.object as Pod).status!.conditions.find((x) => x.type === "Ready")!;
      expect([c.status, c.lastTransitionTime]).toEqual(["False", "2026-03-01T12:00:41Z"]);
    });
  });

  describe("taints", () => {
    it("a node that becomes Unknown gets the unreachable NoSchedule and NoExecute taints", async () => {
      await start(node("n1", { ready: "True", heartbeatSecondsAgo: 600 }), lease("n1", 0));
      await nlc.reconcile("n1");
      later(GRACE_SECONDS + 1);

      await nlc.reconcile("n1");

      expect(taintPatches()).toEqual([[`${UNREACHABLE}:NoSchedule`, `${UNREACHABLE}:NoExecute`]]);
      const stored = f.client.object<Node>("nodes", "", "n1")!;
      expect(taintsOf(stored.spec?.taints)).toEqual([`${UNREACHABLE}:NoSchedule`, `${UNREACHABLE}:NoExecute`]);
      expect(stored.spec!.taints.find((t) => t.effect === "NoExecute")!.timeAdded).toBe("2026-03-01T12:00:41Z");
    });

    it("a node Ready=False gets the not-ready taints in place of the unreachable ones", async () => {
      await start(node("n1", { ready: "False", taints: [unreachable("NoSchedule"), unreachable("NoExecute")] }), lease("n1", 0));

      await nlc.reconcile("n1");

      expect(taintPatches()).toEqual([[`${NOT_READY}:NoSchedule`, `${NOT_READY}:NoExecute`]]);
    });

    it("a Ready node loses the unreachable and not-ready taints, and keeps the others", async () => {
      await start(
        node("n1", {
          ready: "True",
          taints: [
            unreachable("NoSchedule"),
            { key: "dedicated", value: "gpu", effect: "NoSchedule" },
            unreachable("NoExecute"),
            notReady("NoExecute"),
          ],
        }),
        lease("n1", 0),
      );

      await nlc.reconcile("n1");

      expect(taintPatches()).toEqual([["dedicated:NoSchedule"]]);
      expect(taintsOf(f.client.object<Node>("nodes", "", "n1")!.spec?.taints)).toEqual(["dedicated:NoSchedule"]);
    });

    it("a node with the taints it should have is not patched", async () => {
      await start(node("n1", { ready: "Unknown", taints: [unreachable("NoSchedule"), unreachable("NoExecute")] }), lease("n1", 0));

      await nlc.reconcile("n1");

      expect(f.client.writes()).toEqual([]);
    });
  });

  describe("eviction", () => {
    const unknownNode = (addedSecondsAgo: number) =>
      node("n1", { ready: "Unknown", taints: [unreachable("NoSchedule", addedSecondsAgo), unreachable("NoExecute", addedSecondsAgo)] });

    it("evicts at once the pods that do not tolerate the NoExecute taint, and only the node's", async () => {
      await start(unknownNode(0), lease("n1", 0), pod("web", "n1"), pod("elsewhere", "n2"));

      await nlc.reconcile("n1");

      expect(evicted()).toEqual(["web"]);
      expect(f.client.writes().find((a) => a.verb === "delete")!.deleteOptions).toEqual({ preconditions: { uid: "uid-web" } });
      expect(f.recorder.lines()).toEqual(["Normal TaintManagerEviction Marking for deletion Pod default/web"]);
    });

    it("evicts a pod when its tolerationSeconds for the taint have run out since the taint was added, and not before", async () => {
      await start(unknownNode(0), lease("n1", 0), pod("web", "n1", { tolerations: defaultTolerations(300) }));

      later(299);
      await nlc.reconcile("n1");
      expect(evicted()).toEqual([]);
      // Looked at again when the toleration runs out.
      await drain();
      later(1);
      expect(nlc.queue.length).toBe(1);

      await nlc.reconcile("n1");
      expect(evicted()).toEqual(["web"]);
    });

    it("never evicts a pod that tolerates the taint without tolerationSeconds", async () => {
      await start(unknownNode(3600), lease("n1", 0), pod("agent", "n1", { tolerations: [{ operator: "Exists" }] }));

      await nlc.reconcile("n1");

      expect(evicted()).toEqual([]);
    });

    it("does not evict a pod already being deleted", async () => {
      await start(unknownNode(3600), lease("n1", 0), pod("web", "n1", { deleting: true }));

      await nlc.reconcile("n1");

      expect(evicted()).toEqual([]);
    });

    it("a toleration of another taint does not save a pod", async () => {
      await start(
        unknownNode(0),
        lease("n1", 0),
        pod("web", "n1", { tolerations: [{ key: NOT_READY, operator: "Exists", effect: "NoExecute" }] }),
      );

      await nlc.reconcile("n1");

      expect(evicted()).toEqual(["web"]);
    });

    it("a NoSchedule taint evicts nothing", async () => {
      await start(
        node("n1", { ready: "True", taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }),
        lease("n1", 0),
        pod("web", "n1"),
      );

      await nlc.reconcile("n1");

      expect(f.client.writes()).toEqual([]);
    });

    it("a pod already gone (NotFound) is no error", async () => {
      await start(unknownNode(0), lease("n1", 0));
      f.informers.seed(pod("web", "n1"));

      await expect(nlc.reconcile("n1")).resolves.toBeUndefined();
      expect(evicted()).toEqual(["web"]);
    });
  });

  it("a pod bound to a node queues the node", async () => {
    await start(node("n1", { ready: "True" }));

    f.informers.for<Pod>("pods").add(pod("web", "n1"));

    expect(await nlc.queue.get()).toBe("n1");
  });

  it("a node gone from the cache is not acted on", async () => {
    await start();

    await nlc.reconcile("n1");

    expect(f.client.actions).toEqual([]);
  });
});
