import { describe, expect, it } from "vitest";
import type { Pod } from "@kubelab/api";
import { podRequests, type Resources } from "../framework/resources.js";
import { pod as podNamed, type Requests } from "../testing/factories.js";
import { fractionsAfter, nonZero } from "./nonZeroRequests.js";

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;
const r = (milliCpu: number, memory: number, pods = 1): Resources => ({ milliCpu, memory, pods });
const none = r(0, 0, 0);

const pod = (containers: Requests[]): Pod => podNamed("p", { containers });

describe("nonZero", () => {
  const cases: Array<{ name: string; requests: Resources; want: Resources }> = [
    {
      name: "a pod without requests counts as 100m cpu and 200 MB (DefaultMilliCPURequest, DefaultMemoryRequest)",
      requests: r(0, 0),
      want: r(100, 200 * Mi),
    },
    { name: "a pod's own requests are kept", requests: r(500, Gi), want: r(500, Gi) },
    { name: "requests below the defaults are kept, not raised", requests: r(10, Mi), want: r(10, Mi) },
    { name: "cpu is defaulted alone when only memory is asked for", requests: r(0, Gi), want: r(100, Gi) },
    { name: "memory is defaulted alone when only cpu is asked for", requests: r(500, 0), want: r(500, 200 * Mi) },
    { name: "the pod slot is left as it is", requests: r(0, 0, 1), want: r(100, 200 * Mi, 1) },
  ];
  it.each(cases)("$name", ({ requests, want }) => {
    expect(nonZero(requests)).toEqual(want);
  });
});

describe("fractionsAfter", () => {
  const cases: Array<{
    name: string;
    requested: Resources;
    allocatable: Resources;
    pod: Resources;
    want: { cpu: number; memory: number };
  }> = [
    {
      name: "the node's requests plus the pod's, over allocatable",
      requested: r(1000, 2 * Gi, 1),
      allocatable: r(4000, 8 * Gi, 110),
      pod: r(1000, 2 * Gi),
      want: { cpu: 0.5, memory: 0.5 },
    },
    {
      name: "a pod without requests adds 100m cpu and 200 MB",
      requested: none,
      allocatable: r(1000, 1000 * Mi, 110),
      pod: r(0, 0),
      want: { cpu: 0.1, memory: 0.2 },
    },
    {
      name: "fractions stop at 1 when requests exceed allocatable",
      requested: r(3000, 6 * Gi, 1),
      allocatable: r(4000, 8 * Gi, 110),
      pod: r(2000, 4 * Gi),
      want: { cpu: 1, memory: 1 },
    },
  ];
  it.each(cases)("$name", ({ requested, allocatable, pod, want }) => {
    expect(fractionsAfter(requested, allocatable, pod)).toEqual(want);
  });

  // kube-scheduler gives the defaults to each container that does not name the resource
  // (GetNonzeroRequestForResource; applyNonMissing with NonMissingContainerRequests), so two
  // containers without requests count 200m and 400 MB, and an explicit request of 0 stays 0.
  // The defaults here are given once, to the pod's sum, whenever the sum is 0.
  const allocatable = r(1000, 1000 * Mi, 110);
  it.fails("each container without requests counts 100m cpu and 200 MB", () => {
    expect(fractionsAfter(none, allocatable, podRequests(pod([{}, {}])))).toEqual({ cpu: 0.2, memory: 0.4 });
  });

  it.fails("a container that asks for 0 explicitly is not given the defaults", () => {
    expect(fractionsAfter(none, allocatable, podRequests(pod([{ cpu: "0", memory: "0" }])))).toEqual({ cpu: 0, memory: 0 });
  });
});
