import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { NodeSchema, containerOfProviderID } from "@kubelab/api";
import { nodeLifecycleAction, SHUTDOWN_TAINT } from "./decision.js";

const node = (ready: boolean, shutdownTaint = false) =>
  create(NodeSchema, {
    metadata: { name: "node-4" },
    spec: { providerId: "kubelab://0123456789ab", taints: shutdownTaint ? [SHUTDOWN_TAINT] : [] },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }] },
  });

describe("the cloud node lifecycle decision", () => {
  it("deletes a node that is not Ready and whose machine is gone, never a Ready one", () => {
    expect(nodeLifecycleAction(node(false), "missing")).toBe("delete");
    expect(nodeLifecycleAction(node(true), "missing")).toBe("none");
  });

  it("taints a node whose machine is shut down, and untaints it once it runs or is Ready again", () => {
    expect(nodeLifecycleAction(node(false), "shutdown")).toBe("taintShutdown");
    expect(nodeLifecycleAction(node(false, true), "shutdown")).toBe("none");
    expect(nodeLifecycleAction(node(false, true), "running")).toBe("untaintShutdown");
    expect(nodeLifecycleAction(node(true, true), "running")).toBe("untaintShutdown");
  });

  it("leaves a node alone when the cloud cannot tell", () => {
    expect(nodeLifecycleAction(node(false), "unknown")).toBe("none");
  });

  it("reads the lab's providerIDs: kubelab://<container id>", () => {
    expect(containerOfProviderID("kubelab://0123456789abcdef")).toBe("0123456789abcdef");
    expect(containerOfProviderID("aws:///us-east-1a/i-123")).toBeUndefined();
    expect(containerOfProviderID("kubelab://../etc")).toBeUndefined();
    expect(containerOfProviderID("")).toBeUndefined();
  });
});
