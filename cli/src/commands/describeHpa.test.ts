import { create } from "@bufbuild/protobuf";
import { HorizontalPodAutoscalerSchema } from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { hpaDetails } from "./describeHpa.js";

describe("describe hpa", () => {
  it("shows each metric as current / target, the limits, the target's pods and the conditions", () => {
    const hpa = create(HorizontalPodAutoscalerSchema, {
      spec: {
        scaleTargetRef: { kind: "Deployment", name: "web", apiVersion: "apps/v1" },
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [
          { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } },
          { type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "64Mi" } } },
        ],
      },
      status: {
        currentReplicas: 2,
        desiredReplicas: 4,
        currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 95, averageValue: "190m" } } }],
        conditions: [
          {
            type: "AbleToScale",
            status: "True",
            reason: "SucceededRescale",
            message: "the HPA controller was able to update the target scale to 4",
          },
        ],
      },
    });
    const text = hpaDetails(hpa).join("\n");
    expect(text).toContain("Reference:                                             Deployment/web");
    expect(text).toContain("  resource cpu on pods  (as a percentage of request):  95% (190m) / 50%");
    expect(text).toContain("  resource memory on pods:                             <unknown> / 64Mi");
    expect(text).toContain("Deployment pods:                                       2 current / 4 desired");
    expect(text).toContain("  AbleToScale  True    SucceededRescale  the HPA controller was able to update the target scale to 4");
  });
});
