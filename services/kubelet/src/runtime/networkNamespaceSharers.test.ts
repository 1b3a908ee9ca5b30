import { describe, expect, it } from "vitest";
import { failedToStartBesideNode, type SharerView } from "./networkNamespaceSharers.js";

const NODE = "3b0decb5f296";
const failed = (over: Partial<SharerView> = {}): SharerView => ({
  networkMode: `container:${NODE}`,
  status: "exited",
  startError: "cannot join network of a non running container: 3b0decb5f296",
  restartPolicy: "unless-stopped",
  ...over,
});

describe("failedToStartBesideNode", () => {
  it("starts a container of the node's network namespace whose start failed and that should run", () => {
    expect(failedToStartBesideNode(failed(), NODE)).toBe(true);
    expect(failedToStartBesideNode(failed({ restartPolicy: "always" }), NODE)).toBe(true);
  });

  it("leaves one stopped by hand (no start error), one meant to stay stopped, one running, and one of another node", () => {
    expect(failedToStartBesideNode(failed({ startError: "" }), NODE)).toBe(false);
    expect(failedToStartBesideNode(failed({ restartPolicy: "no" }), NODE)).toBe(false);
    expect(failedToStartBesideNode(failed({ restartPolicy: "on-failure" }), NODE)).toBe(false);
    expect(failedToStartBesideNode(failed({ status: "running" }), NODE)).toBe(false);
    expect(failedToStartBesideNode(failed({ networkMode: "container:another" }), NODE)).toBe(false);
    expect(failedToStartBesideNode(failed({ networkMode: "bridge" }), NODE)).toBe(false);
  });
});
