import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  const spec = {
    gracePeriodSeconds: { flag: "grace-period", description: "", default: 40, duration: true },
    workers: { flag: "workers", description: "", default: 5 },
  };

  it("reads a duration flag in either form, flags before the environment", () => {
    expect(loadConfig("t", spec, ["--grace-period=1m"], {})).toEqual({ gracePeriodSeconds: 60, workers: 5 });
    expect(loadConfig("t", spec, ["--grace-period", "15"], {})).toEqual({ gracePeriodSeconds: 15, workers: 5 });
    expect(loadConfig("t", spec, [], { KUBELAB_GRACE_PERIOD: "500ms" }).gracePeriodSeconds).toBe(0.5);
    expect(loadConfig("t", spec, ["--grace-period=2s"], { KUBELAB_GRACE_PERIOD: "9s" }).gracePeriodSeconds).toBe(2);
  });

  it("names the flag and the forms it takes when a duration is not one", () => {
    expect(() => loadConfig("t", spec, ["--grace-period=soon"], {})).toThrow(ConfigError);
    expect(() => loadConfig("t", spec, ["--grace-period=soon"], {})).toThrow(
      '--grace-period: invalid value "soon": must be a duration such as 40s, 5m or 1h30m, or a number of seconds',
    );
    expect(() => loadConfig("t", spec, ["--workers=5s"], {})).toThrow('--workers: invalid value "5s": must be a number');
  });
});
