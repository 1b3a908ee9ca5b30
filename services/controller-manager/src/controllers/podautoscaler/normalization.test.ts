import { describe, expect, it } from "vitest";
import {
  calculateScaleDownLimitWithBehaviors,
  calculateScaleUpLimitWithScalingRules,
  convertDesiredReplicasWithBehaviorRate,
  convertDesiredReplicasWithRules,
  getReplicasChangePerPeriod,
  maybeInitScaleDownStabilizationWindow,
  resolveBehavior,
  ScaleHistory,
  type ResolvedScalingRules,
  type ScalingBehavior,
  type ScalingPolicy,
  type TimestampedScaleEvent,
} from "./normalization.js";
import { generateHPAScaleDownRules, generateHPAScaleUpRules } from "@kubelab/api";

const NOW_MS = Date.parse("2024-05-01T12:00:00Z");
const KEY = "default/web";
const s = (seconds: number) => seconds * 1000;

const pods = (value: number, periodSeconds = 60): ScalingPolicy => ({ type: "Pods", value, periodSeconds });
const percent = (value: number, periodSeconds = 60): ScalingPolicy => ({ type: "Percent", value, periodSeconds });
const rules = (selectPolicy: string, ...policies: ScalingPolicy[]): ResolvedScalingRules => ({
  stabilizationWindowSeconds: 0,
  selectPolicy,
  policies,
});
const event = (replicaChange: number, secondsAgo: number): TimestampedScaleEvent => ({
  replicaChange,
  timestampMs: NOW_MS - s(secondsAgo),
  outdated: false,
});

describe("convertDesiredReplicasWithRules (no behavior)", () => {
  const cases: Array<{ rule: string; current: number; desired: number; min: number; max: number; want: [number, string, string] }> = [
    {
      rule: "passes a count within [min, max] and the scale-up limit",
      current: 3,
      desired: 5,
      min: 1,
      max: 10,
      want: [5, "DesiredWithinRange", "the desired count is within the acceptable range"],
    },
    {
      rule: "limits a scale-up to twice the current count",
      current: 3,
      desired: 10,
      min: 1,
      max: 20,
      want: [6, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"],
    },
    {
      rule: "lets a small target grow to 4 at once",
      current: 1,
      desired: 10,
      min: 1,
      max: 20,
      want: [4, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"],
    },
    {
      rule: "clamps to maxReplicas when it is below the scale-up limit",
      current: 3,
      desired: 10,
      min: 1,
      max: 5,
      want: [5, "TooManyReplicas", "the desired replica count is more than the maximum replica count"],
    },
    {
      rule: "names maxReplicas when it equals the scale-up limit",
      current: 3,
      desired: 10,
      min: 1,
      max: 6,
      want: [6, "TooManyReplicas", "the desired replica count is more than the maximum replica count"],
    },
    {
      rule: "clamps to minReplicas",
      current: 3,
      desired: 0,
      min: 2,
      max: 10,
      want: [2, "TooFewReplicas", "the desired replica count is less than the minimum replica count"],
    },
  ];
  for (const c of cases) {
    it(c.rule, () => {
      const { replicas, reason, message } = convertDesiredReplicasWithRules(c.current, c.desired, c.min, c.max);
      expect([replicas, reason, message]).toEqual(c.want);
    });
  }
});

describe("downscale stabilization without a behavior", () => {
  it("takes the highest recommendation of the window, the new one included", () => {
    const h = new ScaleHistory();
    h.stabilizeRecommendation(KEY, 5, 300, NOW_MS - s(120));
    h.stabilizeRecommendation(KEY, 4, 300, NOW_MS - s(60));
    expect(h.stabilizeRecommendation(KEY, 3, 300, NOW_MS)).toBe(5);
    expect(h.recommendationsOf(KEY).map((r) => r.recommendation)).toEqual([5, 4, 3]);
  });

  it("forgets recommendations older than the window, overwriting one with the new", () => {
    const h = new ScaleHistory();
    h.stabilizeRecommendation(KEY, 7, 300, NOW_MS - s(360));
    expect(h.stabilizeRecommendation(KEY, 3, 300, NOW_MS)).toBe(3);
    expect(h.recommendationsOf(KEY)).toEqual([{ recommendation: 3, timestampMs: NOW_MS }]);
  });

  it("counts a recommendation exactly at the window's edge", () => {
    const h = new ScaleHistory();
    h.stabilizeRecommendation(KEY, 7, 300, NOW_MS - s(300));
    expect(h.stabilizeRecommendation(KEY, 3, 300, NOW_MS)).toBe(7);
  });

  it("keeps a fresh controller from scaling down until a window of lower recommendations has passed", () => {
    const h = new ScaleHistory();
    const args = { key: KEY, currentReplicas: 10, desiredReplicas: 2, minReplicas: 1, maxReplicas: 20 };
    h.recordInitialRecommendation(KEY, 10, NOW_MS);
    h.recordInitialRecommendation(KEY, 99, NOW_MS + s(1));
    expect(h.normalizeDesiredReplicas(args, NOW_MS + s(15))).toEqual({
      desiredReplicas: 10,
      ableToScale: {
        type: "AbleToScale",
        status: "True",
        reason: "ScaleDownStabilized",
        message: "recent recommendations were higher than current one, applying the highest recent recommendation",
      },
      scalingLimited: {
        type: "ScalingLimited",
        status: "False",
        reason: "DesiredWithinRange",
        message: "the desired count is within the acceptable range",
      },
    });
    expect(h.normalizeDesiredReplicas(args, NOW_MS + s(301)).desiredReplicas).toBe(2);
  });

  it("uses the --horizontal-pod-autoscaler-downscale-stabilization it is given", () => {
    const h = new ScaleHistory();
    h.recordInitialRecommendation(KEY, 10, NOW_MS);
    const args = {
      key: KEY,
      currentReplicas: 10,
      desiredReplicas: 2,
      minReplicas: 1,
      maxReplicas: 20,
      downscaleStabilizationWindowSeconds: 60,
    };
    expect(h.normalizeDesiredReplicas(args, NOW_MS + s(61)).desiredReplicas).toBe(2);
  });

  it("reports ReadyForNewScale and a limited scale-up", () => {
    const h = new ScaleHistory();
    const got = h.normalizeDesiredReplicas({ key: KEY, currentReplicas: 3, desiredReplicas: 50, minReplicas: 1, maxReplicas: 100 }, NOW_MS);
    expect(got).toEqual({
      desiredReplicas: 6,
      ableToScale: { type: "AbleToScale", status: "True", reason: "ReadyForNewScale", message: "recommended size matches current size" },
      scalingLimited: {
        type: "ScalingLimited",
        status: "True",
        reason: "ScaleUpLimit",
        message: "the desired replica count is increasing faster than the maximum scale rate",
      },
    });
  });
});

describe("the behavior the controller acts on", () => {
  it("gives a scale-down without a stabilization window the controller's", () => {
    const defaulted = { scaleUp: generateHPAScaleUpRules(undefined), scaleDown: generateHPAScaleDownRules(undefined) };
    expect(maybeInitScaleDownStabilizationWindow(defaulted, 300).scaleDown.stabilizationWindowSeconds).toBe(300);
    expect(
      maybeInitScaleDownStabilizationWindow({ ...defaulted, scaleDown: { ...defaulted.scaleDown, stabilizationWindowSeconds: 0 } }, 300)
        .scaleDown.stabilizationWindowSeconds,
    ).toBe(0);
  });

  it("keeps what the HPA sets, field by field, and an explicit window of 0", () => {
    const behavior: ScalingBehavior = {
      scaleUp: { stabilizationWindowSeconds: 60 },
      scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: "Min", policies: [pods(1, 30)] },
    };
    expect(resolveBehavior(behavior, 300)).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 60,
        selectPolicy: "Max",
        policies: [
          { type: "Pods", value: 4, periodSeconds: 15 },
          { type: "Percent", value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: "Min", policies: [pods(1, 30)] },
    });
  });
});

describe("rate limits of the behavior's policies", () => {
  it("sums the changes strictly inside the period", () => {
    expect(getReplicasChangePerPeriod(60, [event(3, 59), event(2, 60), event(5, 61)], NOW_MS)).toBe(3);
  });

  const up: Array<{
    rule: string;
    current: number;
    rules: ResolvedScalingRules;
    ups?: TimestampedScaleEvent[];
    downs?: TimestampedScaleEvent[];
    want: number;
  }> = [
    {
      rule: "the default rules allow the larger of +4 and +100%",
      current: 10,
      rules: generateHPAScaleUpRules(undefined),
      want: 20,
    },
    {
      rule: "the default rules let 2 pods become 6",
      current: 2,
      rules: generateHPAScaleUpRules(undefined),
      want: 6,
    },
    { rule: "Min takes the smaller change", current: 10, rules: rules("Min", pods(4), percent(100)), want: 14 },
    { rule: "Disabled allows no scale-up", current: 10, rules: rules("Disabled", pods(4)), want: 10 },
    { rule: "Percent rounds the added pods up", current: 3, rules: rules("Max", percent(50)), want: 5 },
    { rule: "pods added within the period count against it", current: 10, rules: rules("Max", pods(4)), ups: [event(3, 30)], want: 11 },
    { rule: "pods added before the period do not", current: 10, rules: rules("Max", pods(4)), ups: [event(3, 61)], want: 14 },
    {
      rule: "pods removed within the period give their room back",
      current: 10,
      rules: rules("Max", pods(4)),
      downs: [event(2, 30)],
      want: 16,
    },
    {
      rule: "each policy looks back over its own period",
      current: 10,
      rules: rules("Max", pods(4, 15), percent(100, 120)),
      ups: [event(5, 30)],
      want: 14,
    },
  ];
  for (const c of up) {
    it(`scale-up: ${c.rule}`, () => {
      expect(calculateScaleUpLimitWithScalingRules(c.current, c.ups ?? [], c.downs ?? [], c.rules, NOW_MS)).toBe(c.want);
    });
  }

  const down: Array<{
    rule: string;
    current: number;
    rules: Pick<ResolvedScalingRules, "selectPolicy" | "policies">;
    ups?: TimestampedScaleEvent[];
    downs?: TimestampedScaleEvent[];
    want: number;
  }> = [
    {
      rule: "the default -100% allows any scale-down",
      current: 10,
      rules: generateHPAScaleDownRules(undefined),
      want: 0,
    },
    { rule: "Pods removes that many", current: 10, rules: rules("Max", pods(2)), want: 8 },
    { rule: "Percent rounds the remaining pods down", current: 15, rules: rules("Max", percent(10)), want: 13 },
    { rule: "Max takes the larger change", current: 10, rules: rules("Max", pods(2), percent(50)), want: 5 },
    { rule: "Min takes the smaller change", current: 10, rules: rules("Min", pods(2), percent(50)), want: 8 },
    { rule: "Disabled allows no scale-down", current: 10, rules: rules("Disabled", percent(50)), want: 10 },
    {
      rule: "pods removed within the period count against it",
      current: 7,
      rules: rules("Max", percent(50)),
      downs: [event(3, 30)],
      want: 5,
    },
    {
      rule: "the period starts from the count before pods added within it",
      current: 12,
      rules: rules("Max", pods(2)),
      ups: [event(2, 30)],
      want: 8,
    },
  ];
  for (const c of down) {
    it(`scale-down: ${c.rule}`, () => {
      expect(calculateScaleDownLimitWithBehaviors(c.current, c.ups ?? [], c.downs ?? [], c.rules, NOW_MS)).toBe(c.want);
    });
  }

  const limits = { minReplicas: 2, maxReplicas: 15 };
  const convert: Array<{
    rule: string;
    current: number;
    desired: number;
    up?: ResolvedScalingRules;
    down?: ResolvedScalingRules;
    ups?: TimestampedScaleEvent[];
    want: [number, string];
  }> = [
    {
      rule: "a scale-up past the policies stops at their limit",
      current: 5,
      desired: 14,
      up: rules("Max", pods(4)),
      want: [9, "ScaleUpLimit"],
    },
    {
      rule: "a scale-up past maxReplicas stops there",
      current: 10,
      desired: 40,
      up: rules("Max", percent(100)),
      want: [15, "TooManyReplicas"],
    },
    {
      rule: "a scale-up whose period is used up holds the current count",
      current: 10,
      desired: 14,
      up: rules("Max", pods(4)),
      ups: [event(6, 30)],
      want: [10, "ScaleUpLimit"],
    },
    {
      rule: "a scale-down past the policies stops at their limit",
      current: 10,
      desired: 3,
      down: rules("Max", percent(20)),
      want: [8, "ScaleDownLimit"],
    },
    {
      rule: "a scale-down past minReplicas stops there",
      current: 10,
      desired: 0,
      down: rules("Max", percent(100)),
      want: [2, "TooFewReplicas"],
    },
    {
      rule: "a disabled scale-down holds the current count",
      current: 10,
      desired: 3,
      down: rules("Disabled", percent(100)),
      want: [10, "ScaleDownLimit"],
    },
    { rule: "a count within the limits passes", current: 10, desired: 12, up: rules("Max", pods(4)), want: [12, "DesiredWithinRange"] },
  ];
  for (const c of convert) {
    it(`convertDesiredReplicasWithBehaviorRate: ${c.rule}`, () => {
      const got = convertDesiredReplicasWithBehaviorRate(
        {
          ...limits,
          currentReplicas: c.current,
          desiredReplicas: c.desired,
          scaleUpBehavior: c.up ?? rules("Max", pods(4)),
          scaleDownBehavior: c.down ?? rules("Max", percent(100)),
        },
        c.ups ?? [],
        [],
        NOW_MS,
      );
      expect([got.replicas, got.reason]).toEqual(c.want);
    });
  }
});

describe("stabilization windows with a behavior", () => {
  const arg = (current: number, desired: number, upWindowSeconds: number, downWindowSeconds: number) => ({
    key: KEY,
    currentReplicas: current,
    desiredReplicas: desired,
    minReplicas: 1,
    maxReplicas: 100,
    scaleUpBehavior: { ...rules("Max", pods(100)), stabilizationWindowSeconds: upWindowSeconds },
    scaleDownBehavior: { ...rules("Max", percent(100)), stabilizationWindowSeconds: downWindowSeconds },
  });
  const historyOf = (...recs: Array<[number, number]>) => {
    const h = new ScaleHistory();
    for (const [recommendation, secondsAgo] of recs) h.stabilizeRecommendation(KEY, recommendation, 3600, NOW_MS - s(secondsAgo));
    return h;
  };

  it("a scale-up rises no higher than the lowest recommendation of the scale-up window", () => {
    const got = historyOf([5, 30]).stabilizeRecommendationWithBehaviors(arg(3, 8, 60, 300), NOW_MS);
    expect(got).toEqual({
      replicas: 5,
      reason: "ScaleUpStabilized",
      message: "recent recommendations were lower than current one, applying the lowest recent recommendation",
    });
  });

  it("a scale-up window of 0 scales up at once", () => {
    expect(historyOf([5, 30]).stabilizeRecommendationWithBehaviors(arg(3, 8, 0, 300), NOW_MS).replicas).toBe(8);
  });

  it("a scale-up never goes below the current count", () => {
    expect(historyOf([2, 30]).stabilizeRecommendationWithBehaviors(arg(3, 8, 60, 300), NOW_MS).replicas).toBe(3);
  });

  it("a scale-down falls no lower than the highest recommendation of the scale-down window", () => {
    const got = historyOf([9, 200], [6, 100]).stabilizeRecommendationWithBehaviors(arg(10, 3, 0, 300), NOW_MS);
    expect(got).toEqual({
      replicas: 9,
      reason: "ScaleDownStabilized",
      message: "recent recommendations were higher than current one, applying the highest recent recommendation",
    });
  });

  it("recommendations past the scale-down window no longer hold a scale-down", () => {
    expect(historyOf([9, 400], [6, 100]).stabilizeRecommendationWithBehaviors(arg(10, 3, 0, 300), NOW_MS).replicas).toBe(6);
  });

  it("overwrites a recommendation only once it has left both windows", () => {
    const h = historyOf([9, 400], [6, 100]);
    h.stabilizeRecommendationWithBehaviors(arg(10, 3, 600, 300), NOW_MS);
    expect(h.recommendationsOf(KEY).map((r) => r.recommendation)).toEqual([9, 6, 3]);
    h.stabilizeRecommendationWithBehaviors(arg(10, 2, 0, 300), NOW_MS + s(1));
    expect(h.recommendationsOf(KEY).map((r) => r.recommendation)).toEqual([2, 6, 3]);
  });
});

describe("normalizing with a behavior over time", () => {
  const hpa = (behavior: ScalingBehavior) => ({ key: KEY, minReplicas: 1, maxReplicas: 50, behavior });

  /** Runs the HPA's normalization and records the rescale, as reconcileAutoscaler does. */
  function step(h: ScaleHistory, behavior: ScalingBehavior, current: number, desired: number, atMs: number) {
    const got = h.normalize({ ...hpa(behavior), currentReplicas: current, desiredReplicas: desired }, atMs);
    if (got.desiredReplicas !== current) h.storeScaleEvent(behavior, KEY, current, got.desiredReplicas, atMs);
    return got;
  }

  it("adds pods at the policy's rate, period after period", () => {
    const behavior: ScalingBehavior = { scaleUp: { policies: [pods(1, 60)] } };
    const h = new ScaleHistory();
    const first = step(h, behavior, 2, 10, NOW_MS);
    expect(first.desiredReplicas).toBe(3);
    expect(first.scalingLimited).toMatchObject({ status: "True", reason: "ScaleUpLimit" });
    expect(step(h, behavior, 3, 10, NOW_MS + s(30)).desiredReplicas).toBe(3);
    expect(step(h, behavior, 3, 10, NOW_MS + s(61)).desiredReplicas).toBe(4);
  });

  it("an empty behavior doubles at most per 15 s and holds scale-downs for the controller's window", () => {
    const h = new ScaleHistory();
    h.recordInitialRecommendation(KEY, 10, NOW_MS);
    expect(step(h, {}, 10, 100, NOW_MS + s(15)).desiredReplicas).toBe(20);
    const held = step(h, {}, 20, 2, NOW_MS + s(30));
    expect(held.desiredReplicas).toBe(20);
    expect(held.ableToScale).toMatchObject({ reason: "ScaleDownStabilized" });
    expect(step(h, {}, 20, 2, NOW_MS + s(346)).desiredReplicas).toBe(2);
  });

  it("a scale-down window of 0 and -50% per minute halves the pods at once", () => {
    const behavior: ScalingBehavior = { scaleDown: { stabilizationWindowSeconds: 0, policies: [percent(50, 60)] } };
    const got = step(new ScaleHistory(), behavior, 10, 1, NOW_MS);
    expect(got).toMatchObject({
      desiredReplicas: 5,
      ableToScale: { reason: "ReadyForNewScale" },
      scalingLimited: {
        status: "True",
        reason: "ScaleDownLimit",
        message: "the desired replica count is decreasing faster than the maximum scale rate",
      },
    });
  });

  it("a disabled scale-down keeps the pods", () => {
    const behavior: ScalingBehavior = { scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: "Disabled" } };
    expect(step(new ScaleHistory(), behavior, 10, 1, NOW_MS)).toMatchObject({
      desiredReplicas: 10,
      scalingLimited: { status: "True", reason: "ScaleDownLimit" },
    });
  });

  it("without a behavior, normalize takes the old path and stores no scale events", () => {
    const h = new ScaleHistory();
    expect(
      h.normalize({ key: KEY, currentReplicas: 3, desiredReplicas: 50, minReplicas: 1, maxReplicas: 100 }, NOW_MS).desiredReplicas,
    ).toBe(6);
    h.storeScaleEvent(undefined, KEY, 3, 6, NOW_MS);
    expect(h.scaleUpEventsOf(KEY)).toEqual([]);
  });
});

describe("ScaleHistory bookkeeping", () => {
  it("reuses a scale event older than the direction's longest policy period", () => {
    const behavior: ScalingBehavior = { scaleUp: { policies: [pods(4, 15), percent(100, 60)] } };
    const h = new ScaleHistory();
    h.storeScaleEvent(behavior, KEY, 2, 4, NOW_MS);
    h.storeScaleEvent(behavior, KEY, 4, 8, NOW_MS + s(30));
    h.storeScaleEvent(behavior, KEY, 8, 9, NOW_MS + s(61));
    expect(h.scaleUpEventsOf(KEY)).toEqual([
      { replicaChange: 1, timestampMs: NOW_MS + s(61), outdated: false },
      { replicaChange: 4, timestampMs: NOW_MS + s(30), outdated: false },
    ]);
    h.storeScaleEvent(behavior, KEY, 9, 3, NOW_MS + s(62));
    expect(h.scaleDownEventsOf(KEY)).toEqual([{ replicaChange: 6, timestampMs: NOW_MS + s(62), outdated: false }]);
  });

  it("forget drops a deleted HPA's recommendations and events", () => {
    const h = new ScaleHistory();
    h.recordInitialRecommendation(KEY, 3, NOW_MS);
    h.storeScaleEvent({}, KEY, 3, 6, NOW_MS);
    h.storeScaleEvent({}, KEY, 6, 4, NOW_MS);
    h.forget(KEY);
    expect([h.recommendationsOf(KEY), h.scaleUpEventsOf(KEY), h.scaleDownEventsOf(KEY)]).toEqual([[], [], []]);
  });
});
