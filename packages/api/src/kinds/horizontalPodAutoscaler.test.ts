import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { HorizontalPodAutoscalerSchema, type HorizontalPodAutoscaler } from "../gen/kubelab/autoscaling/v2/hpa_pb.js";
import { objectToJson } from "../codec.js";
import { kindFor } from "../registry.js";
import "./index.js";
import { generateHPAScaleDownRules, generateHPAScaleUpRules } from "./hpaBehavior.js";
import { hpaTargets } from "./horizontalPodAutoscaler.js";

const def = kindFor("autoscaling/v2", "HorizontalPodAutoscaler")!;
const hpa = (spec: Record<string, unknown>, status?: Record<string, unknown>) =>
  create(HorizontalPodAutoscalerSchema, {
    metadata: { name: "web", namespace: "default" },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5, ...spec },
    status,
  } as never);
const defaulted = (h: HorizontalPodAutoscaler) => {
  def.defaults!(h);
  return h;
};
const errors = (h: HorizontalPodAutoscaler) => def.validate!(defaulted(h)).map((e) => e.toString());

describe("HorizontalPodAutoscaler defaulting (autoscaling/v2)", () => {
  it("sets minReplicas 1 and a cpu target of 80% when none is given", () => {
    const h = defaulted(hpa({}));
    expect(objectToJson(h)).toMatchObject({
      spec: {
        minReplicas: 1,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }],
      },
    });
  });

  it("leaves an absent behavior absent, and fills both sides of a present one", () => {
    expect(defaulted(hpa({})).spec?.behavior).toBeUndefined();
    const b = defaulted(hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 30 } } })).spec!.behavior!;
    expect(objectToJson(hpa({ behavior: b }))).toMatchObject({
      spec: {
        behavior: {
          scaleUp: {
            stabilizationWindowSeconds: 0,
            selectPolicy: "Max",
            policies: [
              { type: "Pods", value: 4, periodSeconds: 15 },
              { type: "Percent", value: 100, periodSeconds: 15 },
            ],
          },
          scaleDown: {
            stabilizationWindowSeconds: 30,
            selectPolicy: "Max",
            policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
          },
        },
      },
    });
  });

  it("fills scale-up with no window and the larger of +4 pods and +100% per 15 s, scale-down with -100% per 15 s and no window", () => {
    expect(generateHPAScaleUpRules(undefined)).toEqual({
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: 4, periodSeconds: 15 },
        { type: "Percent", value: 100, periodSeconds: 15 },
      ],
    });
    expect(generateHPAScaleDownRules(undefined)).toEqual({
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
    });
  });

  it("treats an empty policy list as unset", () => {
    expect(generateHPAScaleUpRules({ policies: [] }).policies).toHaveLength(2);
  });
});

describe("HorizontalPodAutoscaler validation", () => {
  it("accepts a cpu utilization target", () => {
    expect(
      errors(hpa({ metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }] })),
    ).toEqual([]);
  });

  it("refuses min above max, and max below 1, in Kubernetes' words", () => {
    expect(errors(hpa({ minReplicas: 3, maxReplicas: 2 }))).toEqual([
      "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
    ]);
    expect(errors(hpa({ minReplicas: 0, maxReplicas: 0 }))).toEqual([
      "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
      "spec.maxReplicas: Invalid value: 0: must be greater than 0",
    ]);
  });

  it("refuses unknown metric sources, resource names and target types, and a target with neither value", () => {
    expect(
      errors(
        hpa({
          metrics: [
            { type: "Pods" },
            { type: "Resource", resource: { name: "gpu", target: { type: "Utilization", averageUtilization: 50 } } },
            { type: "Resource", resource: { name: "cpu", target: { type: "Percent" } } },
          ],
        }),
      ),
    ).toEqual([
      'spec.metrics[0].type: Unsupported value: "Pods": supported values: "Resource"',
      'spec.metrics[1].resource.name: Unsupported value: "gpu": supported values: "cpu", "memory"',
      'spec.metrics[2].resource.target.type: Invalid value: "Percent": must be either Utilization, Value, or AverageValue',
      "spec.metrics[2].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization",
    ]);
  });

  it("refuses both a utilization and a value, and a value that is not positive", () => {
    expect(
      errors(
        hpa({
          metrics: [
            { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "0", averageUtilization: 50 } } },
          ],
        }),
      ),
    ).toEqual([
      'spec.metrics[0].resource.target.averageValue: Invalid value: "0": must be positive',
      "spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization",
    ]);
  });

  it("checks the behavior's windows, select policy and policies", () => {
    expect(
      errors(
        hpa({
          behavior: {
            scaleUp: {
              stabilizationWindowSeconds: 3601,
              selectPolicy: "Fastest",
              policies: [{ type: "Nodes", value: 0, periodSeconds: 1801 }],
            },
          },
        }),
      ),
    ).toEqual([
      "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600",
      'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Fastest": supported values: "Disabled", "Max", "Min"',
      'spec.behavior.scaleUp.policies[0].type: Unsupported value: "Nodes": supported values: "Percent", "Pods"',
      "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
      "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
    ]);
  });
});

describe("kubectl's TARGETS column", () => {
  it("shows current over target, unknown before the first measurement", () => {
    const metrics = [
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } },
      { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "64Mi" } } },
    ];
    expect(hpaTargets(hpa({ metrics }))).toBe("cpu: <unknown>/50%, memory: <unknown>/64Mi");
    expect(
      hpaTargets(
        hpa(
          { metrics },
          {
            currentMetrics: [
              { type: "Resource", resource: { name: "cpu", current: { averageUtilization: 35 } } },
              { type: "Resource", resource: { name: "memory", current: { averageValue: "12Mi" } } },
            ],
          },
        ),
      ),
    ).toBe("cpu: 35%/50%, memory: 12Mi/64Mi");
  });
});
