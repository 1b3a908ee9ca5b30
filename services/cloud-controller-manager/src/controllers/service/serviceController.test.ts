import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LoadBalancerIngressSchema, LoadBalancerStatusSchema, type KubeObject, type Node, type Service } from "@kubelab/api";
import { objectKey, type ControllerContext } from "@kubelab/client";
import { createLogger, type Logger } from "@kubelab/service-kit";
import type { LoadBalancerProvider } from "../../cloudProvider.js";
import { lbService, node, service, withFinalizer } from "../../testing/factories.js";
import { ServiceController } from "./serviceController.js";

// After sample-controller's controller_test.go: caches filled by hand, a client and a cloud that
// record what they are asked, reconcile(key) called directly.

function fakeInformer<T extends KubeObject>(items: T[]) {
  const m = new Map(items.map((o) => [objectKey(o), o]));
  return { addEventHandler: () => undefined, get: (k: string) => m.get(k), list: () => [...m.values()] };
}

function setup(services: Service[], nodes: Node[] = [node("node-1", "172.20.0.2")]) {
  const actions: string[] = [];
  const informers = { services: fakeInformer(services), nodes: fakeInformer(nodes) };
  const client = {
    patch: async (_r: string, _ns: string, name: string, p: object) => {
      actions.push(`patch ${name} ${JSON.stringify(p)}`);
      return {};
    },
    updateStatus: async (o: Service) => {
      actions.push(`status ${o.metadata!.name} ${o.status?.loadBalancer?.ingress.map((i) => i.ip).join(",") ?? ""}`);
      return o;
    },
  };
  const lbs = new Set<string>();
  const cloud: LoadBalancerProvider = {
    getLoadBalancer: (s) => ({ exists: lbs.has(objectKey(s)) }),
    ensureLoadBalancer: async (s, ns) => {
      actions.push(`cloud ensure ${s.metadata!.name} nodes=${ns.map((n) => n.metadata!.name).join(",")}`);
      lbs.add(objectKey(s));
      return create(LoadBalancerStatusSchema, { ingress: [create(LoadBalancerIngressSchema, { ip: "127.0.100.1" })] });
    },
    updateLoadBalancer: async () => undefined,
    ensureLoadBalancerDeleted: async (s) => {
      actions.push(`cloud delete ${s.metadata!.name}`);
      lbs.delete(objectKey(s));
    },
  };
  const recorder = { event: (_t: unknown, type: string, reason: string, msg: string) => actions.push(`event ${type} ${reason}: ${msg}`) };
  const ctx = {
    client,
    informers: { for: (r: "services" | "nodes") => informers[r] },
    recorder,
    log: createLogger("test"),
  } as unknown as ControllerContext<Logger>;
  const controller = new ServiceController(ctx, cloud, { loadBalancerClass: "kubelab.io/loopback" });
  return { controller, actions, lbs };
}

describe("ServiceController.reconcile", () => {
  it("adds the finalizer, then ensures the load balancer, then writes its address, with Kubernetes' events", async () => {
    const { controller, actions } = setup([lbService({}, { resourceVersion: "7" })]);
    await controller.reconcile("default/web");
    expect(actions).toEqual([
      "event Normal EnsuringLoadBalancer: Ensuring load balancer",
      'patch web {"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup"],"resourceVersion":"7"}}',
      "cloud ensure web nodes=node-1",
      "event Normal EnsuredLoadBalancer: Ensured load balancer",
      "status web 127.0.100.1",
    ]);
  });

  it("deletes the load balancer of a Service being deleted before it removes the finalizer", async () => {
    const svc = lbService({}, { ...withFinalizer, deletionTimestamp: "2026-01-01T00:00:00Z", resourceVersion: "9" });
    const { controller, actions, lbs } = setup([svc]);
    lbs.add("default/web");
    await controller.reconcile("default/web");
    expect(actions).toEqual([
      "event Normal DeletingLoadBalancer: Deleting load balancer",
      "cloud delete web",
      'patch web {"metadata":{"finalizers":[],"resourceVersion":"9"}}',
      "event Normal DeletedLoadBalancer: Deleted load balancer",
    ]);
  });

  it("clears the status of a Service that became a ClusterIP Service", async () => {
    const svc = service({ type: "ClusterIP", ports: [{ port: 80 }] }, withFinalizer, {
      loadBalancer: { ingress: [{ ip: "127.0.100.1" }] },
    });
    const { controller, actions, lbs } = setup([svc]);
    lbs.add("default/web");
    await controller.reconcile("default/web");
    expect(actions.at(-1)).toBe("status web ");
    expect(actions).toContain("cloud delete web");
  });

  it("says why in a SyncLoadBalancerFailed event when the cloud cannot ensure, and fails for a retry", async () => {
    const { controller, actions } = setup([lbService({ loadBalancerIP: "10.0.0.1" }, withFinalizer)]);
    (controller as unknown as { cloud: LoadBalancerProvider }).cloud.ensureLoadBalancer = async () => {
      throw new Error("requested loadBalancerIP 10.0.0.1 is not in the load balancers' range 127.0.100.0/24");
    };
    await expect(controller.reconcile("default/web")).rejects.toThrow(/not in the load balancers' range/);
    expect(actions.at(-1)).toBe(
      "event Warning SyncLoadBalancerFailed: Error syncing load balancer: failed to ensure load balancer: requested loadBalancerIP 10.0.0.1 is not in the load balancers' range 127.0.100.0/24",
    );
  });

  it("leaves a Service of another loadBalancerClass alone", async () => {
    const { controller, actions } = setup([lbService({ loadBalancerClass: "example.com/other" })]);
    await controller.reconcile("default/web");
    expect(actions).toEqual([]);
  });
});
