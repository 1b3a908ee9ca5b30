// spec.behavior of an autoscaling/v2 HorizontalPodAutoscaler and its defaulting
// (pkg/apis/autoscaling/v2/defaults.go): the API server defaults stored objects with it, the HPA
// controller resolves what it acts on with it.

/** One scaling policy: Pods adds or removes `value` pods, Percent `value`% of the pods, per `periodSeconds`. */
export interface ScalingPolicy {
  type: string;
  value: number;
  periodSeconds: number;
}

/** spec.behavior.scaleUp or scaleDown as written; the generated HPAScalingRules of @kubelab/api fits it. */
export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  /** Max, Min or Disabled. */
  selectPolicy?: string;
  policies?: readonly ScalingPolicy[];
}

/** spec.behavior as written. */
export interface ScalingBehavior {
  scaleUp?: ScalingRules;
  scaleDown?: ScalingRules;
}

/** Scaling rules with every field filled in. */
export interface ResolvedScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: string;
  policies: readonly ScalingPolicy[];
}

/** spec.behavior after the API's defaulting (scaleDown's window may still be unset: the controller fills it in). */
export interface DefaultedBehavior {
  scaleUp: ScalingRules & Pick<ResolvedScalingRules, "selectPolicy" | "policies" | "stabilizationWindowSeconds">;
  scaleDown: ScalingRules & Pick<ResolvedScalingRules, "selectPolicy" | "policies">;
}

export const MAX_CHANGE_POLICY_SELECT = "Max";
export const MIN_CHANGE_POLICY_SELECT = "Min";
export const DISABLED_POLICY_SELECT = "Disabled";
export const PODS_SCALING_POLICY = "Pods";
export const PERCENT_SCALING_POLICY = "Percent";

// The defaults repeat the HPA's behavior from before spec.behavior existed.
const SCALE_UP_DEFAULTS: ResolvedScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: MAX_CHANGE_POLICY_SELECT,
  policies: [
    { type: PODS_SCALING_POLICY, value: 4, periodSeconds: 15 },
    { type: PERCENT_SCALING_POLICY, value: 100, periodSeconds: 15 },
  ],
};
const SCALE_DOWN_DEFAULTS = {
  selectPolicy: MAX_CHANGE_POLICY_SELECT,
  policies: [{ type: PERCENT_SCALING_POLICY, value: 100, periodSeconds: 15 }],
};

/**
 * The rules with each unset field taken from the defaults (copyHPAScalingRules). Protobuf cannot
 * tell an empty policy list from an absent one, so an empty list takes the defaults too; the API
 * rejects an empty list anyway.
 */
function withDefaults<D extends { selectPolicy: string; policies: readonly ScalingPolicy[] }>(
  rules: ScalingRules | undefined,
  defaults: D & { stabilizationWindowSeconds?: number },
): ScalingRules & D {
  return {
    ...defaults,
    ...(rules?.stabilizationWindowSeconds !== undefined && { stabilizationWindowSeconds: rules.stabilizationWindowSeconds }),
    ...(rules?.selectPolicy !== undefined && { selectPolicy: rules.selectPolicy }),
    ...(rules?.policies !== undefined && rules.policies.length > 0 && { policies: rules.policies }),
  };
}

/** scaleUp with defaults (GenerateHPAScaleUpRules): no stabilization, the larger of +4 pods and +100% per 15 s. */
export function generateHPAScaleUpRules(rules: ScalingRules | undefined): DefaultedBehavior["scaleUp"] {
  return withDefaults(rules, SCALE_UP_DEFAULTS);
}

/**
 * scaleDown with defaults (GenerateHPAScaleDownRules): up to -100% per 15 s. The stabilization
 * window stays unset: the controller's --horizontal-pod-autoscaler-downscale-stabilization fills it.
 */
export function generateHPAScaleDownRules(rules: ScalingRules | undefined): DefaultedBehavior["scaleDown"] {
  return withDefaults(rules, SCALE_DOWN_DEFAULTS);
}
