// How the HPA turns the metrics' proposal into the replica count it sets, ported from Kubernetes'
// pkg/controller/podautoscaler/horizontal.go (normalizeDesiredReplicas and
// normalizeDesiredReplicasWithBehaviors, with what they call). The autoscaling/v2 defaulting of
// spec.behavior lives with the kind, in @kubelab/api.
import {
  DISABLED_POLICY_SELECT,
  MIN_CHANGE_POLICY_SELECT,
  PERCENT_SCALING_POLICY,
  PODS_SCALING_POLICY,
  generateHPAScaleDownRules,
  generateHPAScaleUpRules,
  type DefaultedBehavior,
  type ResolvedScalingRules,
  type ScalingBehavior,
  type ScalingPolicy,
} from "@kubelab/api";

export type { ResolvedScalingRules, ScalingBehavior, ScalingPolicy } from "@kubelab/api";

export interface ResolvedBehavior {
  scaleUp: ResolvedScalingRules;
  scaleDown: ResolvedScalingRules;
}

/** kube-controller-manager's --horizontal-pod-autoscaler-downscale-stabilization default. */
export const DEFAULT_DOWNSCALE_STABILIZATION_WINDOW_SECONDS = 300;

// Without a behavior, a scale-up may at most double the pods, or reach 4 from fewer: it keeps a
// bogus usage report from multiplying the pods (Kubernetes issue #32304).
const SCALE_UP_LIMIT_FACTOR = 2;
const SCALE_UP_LIMIT_MINIMUM = 4;

const MAX_INT32 = 2_147_483_647;
const MIN_INT32 = -2_147_483_648;

/** scaleDown without a stabilization window takes the controller's (maybeInitScaleDownStabilizationWindow). */
export function maybeInitScaleDownStabilizationWindow(
  behavior: DefaultedBehavior,
  downscaleStabilizationWindowSeconds: number,
): ResolvedBehavior {
  return {
    scaleUp: behavior.scaleUp,
    scaleDown: {
      ...behavior.scaleDown,
      stabilizationWindowSeconds: behavior.scaleDown.stabilizationWindowSeconds ?? downscaleStabilizationWindowSeconds,
    },
  };
}

/**
 * The behavior the controller acts on. Defaulting again is a no-op for what the API server has
 * defaulted, and makes a behavior stored without defaulting act the same.
 */
export function resolveBehavior(behavior: ScalingBehavior, downscaleStabilizationWindowSeconds: number): ResolvedBehavior {
  const defaulted = { scaleUp: generateHPAScaleUpRules(behavior.scaleUp), scaleDown: generateHPAScaleDownRules(behavior.scaleDown) };
  return maybeInitScaleDownStabilizationWindow(defaulted, downscaleStabilizationWindowSeconds);
}

/** A recommendation the HPA made, before stabilization (timestampedRecommendation). */
export interface TimestampedRecommendation {
  recommendation: number;
  timestampMs: number;
}

/** A rescale the HPA made (timestampedScaleEvent); `outdated` marks it free for reuse. */
export interface TimestampedScaleEvent {
  /** Pods added or removed: never negative. */
  replicaChange: number;
  timestampMs: number;
  outdated: boolean;
}

/** A condition the normalization sets on the HPA. */
export interface HpaCondition {
  type: "AbleToScale" | "ScalingLimited";
  status: "True" | "False";
  reason: string;
  message: string;
}

/** The replica count to set, with the AbleToScale and ScalingLimited conditions that explain it. */
export interface Normalization {
  desiredReplicas: number;
  ableToScale: HpaCondition;
  scalingLimited: HpaCondition;
}

/** A count, why it is what it is, and Kubernetes' words for that. */
export interface LimitedReplicas {
  replicas: number;
  reason: string;
  message: string;
}

const withinRange = (replicas: number): LimitedReplicas => ({
  replicas,
  reason: "DesiredWithinRange",
  message: "the desired count is within the acceptable range",
});

/** Without a behavior, a scale-up stops at max(2 × current, 4) (calculateScaleUpLimit). */
export function calculateScaleUpLimit(currentReplicas: number): number {
  return Math.trunc(Math.max(SCALE_UP_LIMIT_FACTOR * currentReplicas, SCALE_UP_LIMIT_MINIMUM));
}

/**
 * Clamps the recommendation without a behavior (convertDesiredReplicasWithRules): not below
 * minReplicas (TooFewReplicas), not above maxReplicas (TooManyReplicas) nor the scale-up limit
 * (ScaleUpLimit), whichever is lower.
 */
export function convertDesiredReplicasWithRules(
  currentReplicas: number,
  desiredReplicas: number,
  hpaMinReplicas: number,
  hpaMaxReplicas: number,
): LimitedReplicas {
  const scaleUpLimit = calculateScaleUpLimit(currentReplicas);
  const upper: LimitedReplicas =
    hpaMaxReplicas > scaleUpLimit
      ? {
          replicas: scaleUpLimit,
          reason: "ScaleUpLimit",
          message: "the desired replica count is increasing faster than the maximum scale rate",
        }
      : {
          replicas: hpaMaxReplicas,
          reason: "TooManyReplicas",
          message: "the desired replica count is more than the maximum replica count",
        };
  if (desiredReplicas < hpaMinReplicas) {
    return {
      replicas: hpaMinReplicas,
      reason: "TooFewReplicas",
      message: "the desired replica count is less than the minimum replica count",
    };
  }
  if (desiredReplicas > upper.replicas) return upper;
  return withinRange(desiredReplicas);
}

/** Pods added (or removed) by the events in the last `periodSeconds` (getReplicasChangePerPeriod). */
export function getReplicasChangePerPeriod(periodSeconds: number, scaleEvents: readonly TimestampedScaleEvent[], nowMs: number): number {
  const cutoffMs = nowMs - periodSeconds * 1000;
  let replicas = 0;
  for (const event of scaleEvents) if (event.timestampMs > cutoffMs) replicas += event.replicaChange;
  return replicas;
}

/** The longest period of the rules' policies: events older than that no longer limit anything (getLongestPolicyPeriod). */
export function getLongestPolicyPeriod(rules: { policies: readonly ScalingPolicy[] }): number {
  let longest = 0;
  for (const policy of rules.policies) if (policy.periodSeconds > longest) longest = policy.periodSeconds;
  return longest;
}

/** Marks the events older than the longest policy period as outdated, for storeScaleEvent to reuse (markScaleEventsOutdated). */
export function markScaleEventsOutdated(scaleEvents: TimestampedScaleEvent[], longestPolicyPeriodSeconds: number, nowMs: number): void {
  const cutoffMs = nowMs - longestPolicyPeriodSeconds * 1000;
  for (const event of scaleEvents) if (event.timestampMs < cutoffMs) event.outdated = true;
}

/**
 * The most pods the scale-up rules allow now (calculateScaleUpLimitWithScalingRules). Each policy
 * counts from the replicas at the start of its period (the current count less what was added and
 * plus what was removed within it): Pods adds `value`, Percent adds `value`% rounded up (so a
 * small target still grows). Max takes the largest of the policies' limits, Min the smallest;
 * Disabled allows no scale-up.
 */
export function calculateScaleUpLimitWithScalingRules(
  currentReplicas: number,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  rules: Pick<ResolvedScalingRules, "selectPolicy" | "policies">,
  nowMs: number,
): number {
  if (rules.selectPolicy === DISABLED_POLICY_SELECT) return currentReplicas;
  const useMin = rules.selectPolicy === MIN_CHANGE_POLICY_SELECT;
  let result = useMin ? MAX_INT32 : MIN_INT32;
  // As upstream, a policy of an unknown type repeats the previous policy's proposal (validation rejects such types).
  let proposed = 0;
  for (const policy of rules.policies) {
    const periodStartReplicas = replicasAtPeriodStart(currentReplicas, policy.periodSeconds, scaleUpEvents, scaleDownEvents, nowMs);
    if (policy.type === PODS_SCALING_POLICY) proposed = periodStartReplicas + policy.value;
    else if (policy.type === PERCENT_SCALING_POLICY) proposed = Math.ceil(periodStartReplicas * (1 + policy.value / 100));
    result = useMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/** The count at the start of a policy's period: the rescales within it undone. */
function replicasAtPeriodStart(
  currentReplicas: number,
  periodSeconds: number,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  nowMs: number,
): number {
  return (
    currentReplicas -
    getReplicasChangePerPeriod(periodSeconds, scaleUpEvents, nowMs) +
    getReplicasChangePerPeriod(periodSeconds, scaleDownEvents, nowMs)
  );
}

/**
 * The fewest pods the scale-down rules allow now (calculateScaleDownLimitWithBehaviors), counted
 * from each policy's period start as for scale-up: Pods removes `value`, Percent removes `value`%
 * with the remaining count rounded down. Max allows the largest change (the lowest limit), Min
 * the smallest; Disabled allows no scale-down.
 */
export function calculateScaleDownLimitWithBehaviors(
  currentReplicas: number,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  rules: Pick<ResolvedScalingRules, "selectPolicy" | "policies">,
  nowMs: number,
): number {
  if (rules.selectPolicy === DISABLED_POLICY_SELECT) return currentReplicas;
  const useMin = rules.selectPolicy === MIN_CHANGE_POLICY_SELECT;
  let result = useMin ? MIN_INT32 : MAX_INT32;
  let proposed = 0;
  for (const policy of rules.policies) {
    const periodStartReplicas = replicasAtPeriodStart(currentReplicas, policy.periodSeconds, scaleUpEvents, scaleDownEvents, nowMs);
    if (policy.type === PODS_SCALING_POLICY) proposed = periodStartReplicas - policy.value;
    else if (policy.type === PERCENT_SCALING_POLICY) proposed = Math.trunc(periodStartReplicas * (1 - policy.value / 100));
    result = useMin ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/** What normalizing with a behavior needs (NormalizationArg). */
export interface NormalizationArg {
  key: string;
  scaleUpBehavior: ResolvedScalingRules;
  scaleDownBehavior: ResolvedScalingRules;
  minReplicas: number;
  maxReplicas: number;
  currentReplicas: number;
  desiredReplicas: number;
}

/**
 * Clamps the stabilized recommendation with a behavior (convertDesiredReplicasWithBehaviorRate):
 * a scale-up stops at maxReplicas (TooManyReplicas) or the scale-up rules' limit (ScaleUpLimit),
 * whichever is lower; a scale-down at minReplicas (TooFewReplicas) or the scale-down rules' limit
 * (ScaleDownLimit), whichever is higher. A limit the past events have already used up holds the
 * current count. Stabilization is applied before, separately.
 */
export function convertDesiredReplicasWithBehaviorRate(
  args: Omit<NormalizationArg, "key">,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  nowMs: number,
): LimitedReplicas {
  const { currentReplicas, desiredReplicas } = args;
  if (desiredReplicas > currentReplicas) {
    const scaleUpLimit = Math.max(
      calculateScaleUpLimitWithScalingRules(currentReplicas, scaleUpEvents, scaleDownEvents, args.scaleUpBehavior, nowMs),
      currentReplicas,
    );
    const upper: LimitedReplicas =
      args.maxReplicas > scaleUpLimit
        ? {
            replicas: scaleUpLimit,
            reason: "ScaleUpLimit",
            message: "the desired replica count is increasing faster than the maximum scale rate",
          }
        : {
            replicas: args.maxReplicas,
            reason: "TooManyReplicas",
            message: "the desired replica count is more than the maximum replica count",
          };
    if (desiredReplicas > upper.replicas) return upper;
  } else if (desiredReplicas < currentReplicas) {
    const scaleDownLimit = Math.min(
      calculateScaleDownLimitWithBehaviors(currentReplicas, scaleUpEvents, scaleDownEvents, args.scaleDownBehavior, nowMs),
      currentReplicas,
    );
    const lower: LimitedReplicas =
      args.minReplicas < scaleDownLimit
        ? {
            replicas: scaleDownLimit,
            reason: "ScaleDownLimit",
            message: "the desired replica count is decreasing faster than the maximum scale rate",
          }
        : {
            replicas: args.minReplicas,
            reason: "TooFewReplicas",
            message: "the desired replica count is less than the minimum replica count",
          };
    if (desiredReplicas < lower.replicas) return lower;
  }
  return withinRange(desiredReplicas);
}

const readyForNewScale = (): HpaCondition => ({
  type: "AbleToScale",
  status: "True",
  reason: "ReadyForNewScale",
  message: "recommended size matches current size",
});

const scalingLimited = (limited: LimitedReplicas, stabilized: number): HpaCondition => ({
  type: "ScalingLimited",
  status: limited.replicas === stabilized ? "False" : "True",
  reason: limited.reason,
  message: limited.message,
});

/** Normalizing an HPA without a behavior. */
export interface NormalizeArgs {
  key: string;
  currentReplicas: number;
  /** What the metrics propose (the prenormalized desired replicas). */
  desiredReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization. */
  downscaleStabilizationWindowSeconds?: number;
}

/** Normalizing an HPA; with `behavior` set, its rules apply. */
export interface NormalizeWithBehaviorArgs extends NormalizeArgs {
  behavior?: ScalingBehavior;
}

/**
 * Each HPA's recent recommendations and rescales, keyed by namespace/name: what stabilization and
 * the behavior's rate policies look back on. Samples past their window are overwritten by new
 * ones rather than appended, so each list stays about as long as its window holds samples.
 * Every method takes the time, so a test can drive the clock.
 */
export class ScaleHistory {
  private readonly recommendations = new Map<string, TimestampedRecommendation[]>();
  private readonly scaleUpEvents = new Map<string, TimestampedScaleEvent[]>();
  private readonly scaleDownEvents = new Map<string, TimestampedScaleEvent[]>();

  /** Drops what is kept for a deleted HPA. */
  forget(key: string): void {
    this.recommendations.delete(key);
    this.scaleUpEvents.delete(key);
    this.scaleDownEvents.delete(key);
  }

  recommendationsOf(key: string): readonly TimestampedRecommendation[] {
    return this.recommendations.get(key) ?? [];
  }

  scaleUpEventsOf(key: string): readonly TimestampedScaleEvent[] {
    return this.scaleUpEvents.get(key) ?? [];
  }

  scaleDownEventsOf(key: string): readonly TimestampedScaleEvent[] {
    return this.scaleDownEvents.get(key) ?? [];
  }

  /**
   * An HPA seen for the first time starts with the current count as its recommendation
   * (recordInitialRecommendation), so a fresh controller does not scale down at once.
   */
  recordInitialRecommendation(key: string, currentReplicas: number, nowMs: number): void {
    if (!this.recommendations.has(key)) this.recommendations.set(key, [{ recommendation: currentReplicas, timestampMs: nowMs }]);
  }

  /** Stores the recommendation over one that has left every window, or after the others. */
  private record(key: string, recommendation: number, oldIndex: number, nowMs: number): void {
    const list = this.recommendations.get(key) ?? [];
    const sample = { recommendation, timestampMs: nowMs };
    if (oldIndex >= 0) list[oldIndex] = sample;
    else list.push(sample);
    this.recommendations.set(key, list);
  }

  /**
   * Without a behavior, the highest recommendation of the downscale stabilization window
   * (stabilizeRecommendation): a scale-down waits until the window has seen only lower ones.
   * Records the new recommendation.
   */
  stabilizeRecommendation(
    key: string,
    prenormalizedDesiredReplicas: number,
    downscaleStabilizationWindowSeconds: number,
    nowMs: number,
  ): number {
    const cutoffMs = nowMs - downscaleStabilizationWindowSeconds * 1000;
    let maxRecommendation = prenormalizedDesiredReplicas;
    let oldIndex = -1;
    (this.recommendations.get(key) ?? []).forEach((rec, i) => {
      if (rec.timestampMs < cutoffMs) oldIndex = i;
      else if (rec.recommendation > maxRecommendation) maxRecommendation = rec.recommendation;
    });
    this.record(key, prenormalizedDesiredReplicas, oldIndex, nowMs);
    return maxRecommendation;
  }

  /**
   * With a behavior (stabilizeRecommendationWithBehaviors): the count may rise no higher than the
   * lowest recommendation within the scale-up window and fall no lower than the highest within
   * the scale-down window, the new one included; starting from the current count, it moves only
   * as far as both allow. Records the new recommendation.
   */
  stabilizeRecommendationWithBehaviors(args: NormalizationArg, nowMs: number): LimitedReplicas {
    const upCutoffMs = nowMs - args.scaleUpBehavior.stabilizationWindowSeconds * 1000;
    const downCutoffMs = nowMs - args.scaleDownBehavior.stabilizationWindowSeconds * 1000;
    let upRecommendation = args.desiredReplicas;
    let downRecommendation = args.desiredReplicas;
    let oldIndex = -1;
    (this.recommendations.get(args.key) ?? []).forEach((rec, i) => {
      if (rec.timestampMs > upCutoffMs) upRecommendation = Math.min(rec.recommendation, upRecommendation);
      if (rec.timestampMs > downCutoffMs) downRecommendation = Math.max(rec.recommendation, downRecommendation);
      if (rec.timestampMs < upCutoffMs && rec.timestampMs < downCutoffMs) oldIndex = i;
    });
    const replicas = Math.min(Math.max(args.currentReplicas, upRecommendation), downRecommendation);
    this.record(args.key, args.desiredReplicas, oldIndex, nowMs);
    return args.desiredReplicas >= args.currentReplicas
      ? {
          replicas,
          reason: "ScaleUpStabilized",
          message: "recent recommendations were lower than current one, applying the lowest recent recommendation",
        }
      : {
          replicas,
          reason: "ScaleDownStabilized",
          message: "recent recommendations were higher than current one, applying the highest recent recommendation",
        };
  }

  /**
   * Records a rescale for the behavior's rate policies (storeScaleEvent), over an event older
   * than the direction's longest policy period if there is one. HPAs without a behavior keep none.
   */
  storeScaleEvent(behavior: ScalingBehavior | undefined, key: string, prevReplicas: number, newReplicas: number, nowMs: number): void {
    if (!behavior) return;
    const up = newReplicas > prevReplicas;
    const rules = up ? generateHPAScaleUpRules(behavior.scaleUp) : generateHPAScaleDownRules(behavior.scaleDown);
    const events = (up ? this.scaleUpEvents : this.scaleDownEvents).get(key) ?? [];
    markScaleEventsOutdated(events, getLongestPolicyPeriod(rules), nowMs);
    const event = { replicaChange: Math.abs(newReplicas - prevReplicas), timestampMs: nowMs, outdated: false };
    const oldIndex = events.findLastIndex((e) => e.outdated);
    if (oldIndex >= 0) events[oldIndex] = event;
    else events.push(event);
    (up ? this.scaleUpEvents : this.scaleDownEvents).set(key, events);
  }

  /**
   * The replica count for an HPA without a behavior (normalizeDesiredReplicas): the downscale
   * stabilization, then the min/max and scale-up limits.
   */
  normalizeDesiredReplicas(args: NormalizeArgs, nowMs: number): Normalization {
    const window = args.downscaleStabilizationWindowSeconds ?? DEFAULT_DOWNSCALE_STABILIZATION_WINDOW_SECONDS;
    const stabilized = this.stabilizeRecommendation(args.key, args.desiredReplicas, window, nowMs);
    const ableToScale: HpaCondition =
      stabilized !== args.desiredReplicas
        ? {
            type: "AbleToScale",
            status: "True",
            reason: "ScaleDownStabilized",
            message: "recent recommendations were higher than current one, applying the highest recent recommendation",
          }
        : readyForNewScale();
    const limited = convertDesiredReplicasWithRules(args.currentReplicas, stabilized, args.minReplicas, args.maxReplicas);
    return { desiredReplicas: limited.replicas, ableToScale, scalingLimited: scalingLimited(limited, stabilized) };
  }

  /**
   * The replica count for an HPA with a behavior (normalizeDesiredReplicasWithBehaviors): the
   * scale-up and scale-down stabilization windows, then the min/max and the rate policies'
   * limits given the past rescales.
   */
  normalizeDesiredReplicasWithBehaviors(args: NormalizeArgs & { behavior: ScalingBehavior }, nowMs: number): Normalization {
    const window = args.downscaleStabilizationWindowSeconds ?? DEFAULT_DOWNSCALE_STABILIZATION_WINDOW_SECONDS;
    const behavior = resolveBehavior(args.behavior, window);
    const arg: NormalizationArg = {
      key: args.key,
      scaleUpBehavior: behavior.scaleUp,
      scaleDownBehavior: behavior.scaleDown,
      minReplicas: args.minReplicas,
      maxReplicas: args.maxReplicas,
      currentReplicas: args.currentReplicas,
      desiredReplicas: args.desiredReplicas,
    };
    const stabilized = this.stabilizeRecommendationWithBehaviors(arg, nowMs);
    const ableToScale: HpaCondition =
      stabilized.replicas !== args.desiredReplicas
        ? { type: "AbleToScale", status: "True", reason: stabilized.reason, message: stabilized.message }
        : readyForNewScale();
    const limited = convertDesiredReplicasWithBehaviorRate(
      { ...arg, desiredReplicas: stabilized.replicas },
      this.scaleUpEventsOf(args.key),
      this.scaleDownEventsOf(args.key),
      nowMs,
    );
    return { desiredReplicas: limited.replicas, ableToScale, scalingLimited: scalingLimited(limited, stabilized.replicas) };
  }

  /** Normalizes as reconcileAutoscaler does: by the behavior's rules if the HPA has one, the old way if not. */
  normalize(args: NormalizeWithBehaviorArgs, nowMs: number): Normalization {
    const { behavior } = args;
    return behavior ? this.normalizeDesiredReplicasWithBehaviors({ ...args, behavior }, nowMs) : this.normalizeDesiredReplicas(args, nowMs);
  }
}
