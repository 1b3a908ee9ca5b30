import { describe, expect, it } from "vitest";
import { lbService, service, withFinalizer } from "../../testing/factories.js";
import { planLoadBalancer } from "./plan.js";

const CLASS = "kubelab.io/loopback";
const plan = (current: Parameters<typeof planLoadBalancer>[0], served = current, exists = !!served) =>
  planLoadBalancer(current, served, exists, CLASS);

describe("planLoadBalancer", () => {
  it("ensures a new LoadBalancer Service's load balancer, with events", () => {
    expect(plan(lbService(), undefined, false)).toEqual({ op: "ensure", changed: true });
  });

  it("re-checks quietly a load balancer whose Service did not change", () => {
    const svc = lbService({}, withFinalizer);
    expect(plan(svc, svc, true)).toEqual({ op: "ensure", changed: false });
  });

  it("ensures again, with events, when the ports, source ranges or traffic policy change", () => {
    const before = lbService({}, withFinalizer);
    expect(plan(lbService({ loadBalancerSourceRanges: ["10.0.0.0/8"] }, withFinalizer), before, true)).toEqual({
      op: "ensure",
      changed: true,
    });
    expect(plan(lbService({ externalTrafficPolicy: "Local" }, withFinalizer), before, true)).toEqual({ op: "ensure", changed: true });
  });

  it("cleans up a Service being deleted, or no longer a LoadBalancer, that holds the finalizer", () => {
    const deleting = lbService({}, { ...withFinalizer, deletionTimestamp: "2026-01-01T00:00:00Z" });
    expect(plan(deleting)).toEqual({ op: "cleanup", deleting: true });
    const nowClusterIp = service({ type: "ClusterIP", ports: [{ port: 80 }] }, withFinalizer);
    expect(plan(nowClusterIp, lbService(), true)).toEqual({ op: "cleanup", deleting: false });
  });

  it("deletes the load balancer of a Service gone from the API", () => {
    expect(plan(undefined, lbService(), true)).toEqual({ op: "deleteGone" });
    expect(plan(undefined, undefined, false)).toEqual({ op: "none" });
  });

  it("leaves alone Services of another loadBalancerClass, and serves its own class", () => {
    expect(plan(lbService({ loadBalancerClass: "example.com/other" }), undefined, false)).toEqual({ op: "none" });
    expect(plan(lbService({ loadBalancerClass: CLASS }), undefined, false)).toEqual({ op: "ensure", changed: true });
  });

  it("does nothing for a ClusterIP Service that never had a load balancer", () => {
    expect(plan(service({ type: "ClusterIP", ports: [{ port: 80 }] }), undefined, false)).toEqual({ op: "none" });
  });
});
