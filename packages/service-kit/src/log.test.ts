import { describe, expect, it } from "vitest";
import { createLogger } from "./log.js";

describe("createLogger", () => {
  it("writes klog-like lines, adds the fields of with() to every line, and debug lines only when asked", () => {
    const lines: string[] = [];
    const quiet = createLogger("kubelet", (l) => lines.push(l.replace(/ \S+Z /, " T ")), { debug: false });
    const pod = quiet.with({ pod: "default/web" });
    pod.info("synced", { containers: 2 });
    pod.debug("planned");
    quiet.warn("plain");
    createLogger("kubelet", (l) => lines.push(l.replace(/ \S+Z /, " T ")), { debug: true })
      .with({ pod: "p" })
      .debug("planned", { actions: 1 });
    expect(lines).toEqual([
      'I T kubelet] synced pod="default/web" containers=2',
      "W T kubelet] plain",
      'D T kubelet] planned pod="p" actions=1',
    ]);
  });
});
