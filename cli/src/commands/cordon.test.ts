import { describe, expect, it } from "vitest";
import { cordonMessage } from "./cordon.js";

describe("kubelab cordon / uncordon", () => {
  it("says what kubectl says, and when there was nothing to do", () => {
    expect(cordonMessage("node-1", true, true)).toBe("node/node-1 cordoned");
    expect(cordonMessage("node-1", true, false)).toBe("node/node-1 already cordoned");
    expect(cordonMessage("node-2", false, true)).toBe("node/node-2 uncordoned");
    expect(cordonMessage("node-2", false, false)).toBe("node/node-2 already uncordoned");
  });
});
