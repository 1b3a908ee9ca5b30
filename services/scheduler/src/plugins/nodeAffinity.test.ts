import { describe, expect, it } from "vitest";
import type { Node, Pod } from "@kubelab/api";
import { fits, unfit, type FilterResult } from "../framework/types.js";
import { node as nodeNamed, nodeInfo, pod as podNamed, runFilter, type PodOptions, type Requirement } from "../testing/factories.js";
import { nodeAffinity } from "./nodeAffinity.js";

const node = (labels: Record<string, string> = {}, name = "n"): Node => nodeNamed(name, { labels });

/** A pod with a nodeSelector and, when `terms` is given, required node affinity with those terms. */
const pod = (opts: Pick<PodOptions, "nodeSelector" | "terms"> = {}): Pod => podNamed("p", opts);

/** Required node affinity with one term of these expressions. */
const affinity = (...matchExpressions: Requirement[]) => pod({ terms: [{ matchExpressions }] });

const filter = (p: Pod, n: Node): FilterResult => runFilter(nodeAffinity, p, nodeInfo(n));

const mismatch = unfit("node(s) didn't match Pod's node affinity/selector");

const cases: Array<{ name: string; pod: Pod; node: Node; want: FilterResult }> = [
  { name: "a pod without nodeSelector or affinity fits any node", pod: pod(), node: node({ disk: "ssd" }), want: fits },

  // nodeSelector: every pair must be a label of the node.
  {
    name: "nodeSelector: every label present with the same value fits",
    pod: pod({ nodeSelector: { disk: "ssd", zone: "a" } }),
    node: node({ disk: "ssd", zone: "a", extra: "x" }),
    want: fits,
  },
  {
    name: "nodeSelector: one label with another value keeps the pod off",
    pod: pod({ nodeSelector: { disk: "ssd", zone: "a" } }),
    node: node({ disk: "ssd", zone: "b" }),
    want: mismatch,
  },
  {
    name: "nodeSelector: a label the node lacks keeps the pod off",
    pod: pod({ nodeSelector: { disk: "ssd" } }),
    node: node({ zone: "a" }),
    want: mismatch,
  },
  {
    name: "nodeSelector: an empty value needs the label present and empty",
    pod: pod({ nodeSelector: { edge: "" } }),
    node: node({ edge: "" }),
    want: fits,
  },
  {
    name: "nodeSelector: an empty value is not matched by a node without the label",
    pod: pod({ nodeSelector: { edge: "" } }),
    node: node(),
    want: mismatch,
  },

  // requiredDuringSchedulingIgnoredDuringExecution: terms are ORed, a term's expressions ANDed.
  {
    name: "terms are ORed: one matching term is enough",
    pod: pod({
      terms: [
        { matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] },
        { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
      ],
    }),
    node: node({ disk: "ssd", zone: "a" }),
    want: fits,
  },
  {
    name: "terms are ORed: no matching term keeps the pod off",
    pod: pod({
      terms: [
        { matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] },
        { matchExpressions: [{ key: "disk", operator: "In", values: ["hdd"] }] },
      ],
    }),
    node: node({ disk: "ssd", zone: "a" }),
    want: mismatch,
  },
  {
    name: "expressions are ANDed: all matching fits",
    pod: affinity({ key: "disk", operator: "In", values: ["ssd"] }, { key: "zone", operator: "Exists" }),
    node: node({ disk: "ssd", zone: "a" }),
    want: fits,
  },
  {
    name: "expressions are ANDed: one failing expression fails the term",
    pod: affinity({ key: "disk", operator: "In", values: ["ssd"] }, { key: "zone", operator: "DoesNotExist" }),
    node: node({ disk: "ssd", zone: "a" }),
    want: mismatch,
  },
  { name: "an empty term matches no node", pod: pod({ terms: [{}] }), node: node({ disk: "ssd" }), want: mismatch },
  {
    name: "an empty term beside a matching term does not stop the match",
    pod: pod({ terms: [{}, { matchExpressions: [{ key: "disk", operator: "Exists" }] }] }),
    node: node({ disk: "ssd" }),
    want: fits,
  },
  { name: "required affinity without terms matches no node", pod: pod({ terms: [] }), node: node({ disk: "ssd" }), want: mismatch },
  {
    name: "nodeSelector and affinity must both match: a matching affinity does not excuse the selector",
    pod: pod({ nodeSelector: { disk: "hdd" }, terms: [{ matchExpressions: [{ key: "disk", operator: "Exists" }] }] }),
    node: node({ disk: "ssd" }),
    want: mismatch,
  },
  {
    name: "nodeSelector and affinity must both match: a matching selector does not excuse the affinity",
    pod: pod({ nodeSelector: { disk: "ssd" }, terms: [{ matchExpressions: [{ key: "disk", operator: "NotIn", values: ["ssd"] }] }] }),
    node: node({ disk: "ssd" }),
    want: mismatch,
  },

  // Operators.
  {
    name: "In: the label's value is one of the values",
    pod: affinity({ key: "zone", operator: "In", values: ["a", "b"] }),
    node: node({ zone: "b" }),
    want: fits,
  },
  {
    name: "In: a value not listed does not match",
    pod: affinity({ key: "zone", operator: "In", values: ["a", "b"] }),
    node: node({ zone: "c" }),
    want: mismatch,
  },
  {
    name: "In: a node without the label does not match",
    pod: affinity({ key: "zone", operator: "In", values: ["a"] }),
    node: node(),
    want: mismatch,
  },
  {
    name: "In: an empty value matches a label present and empty",
    pod: affinity({ key: "edge", operator: "In", values: [""] }),
    node: node({ edge: "" }),
    want: fits,
  },
  {
    name: "In: an empty value does not match a node without the label",
    pod: affinity({ key: "edge", operator: "In", values: [""] }),
    node: node(),
    want: mismatch,
  },
  {
    name: "NotIn: a value not listed matches",
    pod: affinity({ key: "zone", operator: "NotIn", values: ["a"] }),
    node: node({ zone: "b" }),
    want: fits,
  },
  {
    name: "NotIn: a listed value does not match",
    pod: affinity({ key: "zone", operator: "NotIn", values: ["a", "b"] }),
    node: node({ zone: "b" }),
    want: mismatch,
  },
  {
    name: "NotIn: a node without the label matches",
    pod: affinity({ key: "zone", operator: "NotIn", values: ["a"] }),
    node: node(),
    want: fits,
  },
  {
    name: "Exists: a node with the label matches, whatever its value",
    pod: affinity({ key: "gpu", operator: "Exists" }),
    node: node({ gpu: "" }),
    want: fits,
  },
  {
    name: "Exists: a node without the label does not match",
    pod: affinity({ key: "gpu", operator: "Exists" }),
    node: node({ disk: "ssd" }),
    want: mismatch,
  },
  {
    name: "DoesNotExist: a node without the label matches",
    pod: affinity({ key: "gpu", operator: "DoesNotExist" }),
    node: node({ disk: "ssd" }),
    want: fits,
  },
  {
    name: "DoesNotExist: a node with the label does not match",
    pod: affinity({ key: "gpu", operator: "DoesNotExist" }),
    node: node({ gpu: "" }),
    want: mismatch,
  },
  {
    name: "Gt: a greater label matches",
    pod: affinity({ key: "cores", operator: "Gt", values: ["8"] }),
    node: node({ cores: "16" }),
    want: fits,
  },
  {
    name: "Gt: compares integers, not strings (10 > 9)",
    pod: affinity({ key: "cores", operator: "Gt", values: ["9"] }),
    node: node({ cores: "10" }),
    want: fits,
  },
  {
    name: "Gt: an equal label does not match",
    pod: affinity({ key: "cores", operator: "Gt", values: ["8"] }),
    node: node({ cores: "8" }),
    want: mismatch,
  },
  {
    name: "Gt: a node without the label does not match",
    pod: affinity({ key: "cores", operator: "Gt", values: ["-1"] }),
    node: node(),
    want: mismatch,
  },
  {
    name: "Gt: a label that is not a number does not match",
    pod: affinity({ key: "cores", operator: "Gt", values: ["1"] }),
    node: node({ cores: "many" }),
    want: mismatch,
  },
  {
    name: "Gt: negative integers compare as integers",
    pod: affinity({ key: "offset", operator: "Gt", values: ["-5"] }),
    node: node({ offset: "-3" }),
    want: fits,
  },
  {
    name: "Lt: a smaller label matches",
    pod: affinity({ key: "cores", operator: "Lt", values: ["8"] }),
    node: node({ cores: "4" }),
    want: fits,
  },
  {
    name: "Lt: compares integers, not strings (9 < 10)",
    pod: affinity({ key: "cores", operator: "Lt", values: ["10"] }),
    node: node({ cores: "9" }),
    want: fits,
  },
  {
    name: "Lt: an equal label does not match",
    pod: affinity({ key: "cores", operator: "Lt", values: ["8"] }),
    node: node({ cores: "8" }),
    want: mismatch,
  },
  {
    name: "Lt: a node without the label does not match",
    pod: affinity({ key: "cores", operator: "Lt", values: ["100"] }),
    node: node(),
    want: mismatch,
  },
  {
    name: "an unknown operator matches nothing",
    pod: affinity({ key: "zone", operator: "Equals", values: ["a"] }),
    node: node({ zone: "a" }),
    want: mismatch,
  },

  // matchFields: metadata.name with In or NotIn.
  {
    name: "matchFields: metadata.name In the node's name matches",
    pod: pod({ terms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["worker-1"] }] }] }),
    node: node({}, "worker-1"),
    want: fits,
  },
  {
    name: "matchFields: metadata.name In another name does not match",
    pod: pod({ terms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["worker-2"] }] }] }),
    node: node({}, "worker-1"),
    want: mismatch,
  },
  {
    name: "matchFields: metadata.name NotIn another name matches",
    pod: pod({ terms: [{ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["worker-2"] }] }] }),
    node: node({}, "worker-1"),
    want: fits,
  },
  {
    name: "matchFields: metadata.name NotIn the node's name does not match",
    pod: pod({ terms: [{ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["worker-1"] }] }] }),
    node: node({}, "worker-1"),
    want: mismatch,
  },
  {
    name: "matchFields and matchExpressions in one term are ANDed",
    pod: pod({
      terms: [
        {
          matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }],
          matchFields: [{ key: "metadata.name", operator: "In", values: ["worker-1"] }],
        },
      ],
    }),
    node: node({ disk: "hdd" }, "worker-1"),
    want: mismatch,
  },
];

describe("NodeAffinity filter", () => {
  it.each(cases)("$name", ({ pod, node, want }) => {
    expect(filter(pod, node)).toEqual(want);
  });

  // Kubernetes parses both sides of Gt and Lt with strconv.ParseInt(v, 10, 64) and matches nothing
  // when either is not a base-10 integer, or when there is not exactly one value
  // (k8s.io/apimachinery labels.Requirement.Matches and NewRequirement); the filter uses Number().
  it.fails("Gt: a label that is not an integer (1.5) does not match", () => {
    expect(filter(affinity({ key: "gen", operator: "Gt", values: ["1"] }), node({ gen: "1.5" }))).toEqual(mismatch);
  });

  it.fails("Gt: an empty label is not the integer 0 and does not match", () => {
    expect(filter(affinity({ key: "gen", operator: "Gt", values: ["-1"] }), node({ gen: "" }))).toEqual(mismatch);
  });

  it.fails("Lt: a label in exponent notation (1e3) is not an integer and does not match", () => {
    expect(filter(affinity({ key: "gen", operator: "Lt", values: ["5000"] }), node({ gen: "1e3" }))).toEqual(mismatch);
  });

  it.fails("Gt: a requirement with more than one value matches nothing", () => {
    expect(filter(affinity({ key: "gen", operator: "Gt", values: ["1", "100"] }), node({ gen: "5" }))).toEqual(mismatch);
  });

  // Kubernetes turns a matchFields requirement into a one-term field selector and rejects In or
  // NotIn with other than exactly one value (nodeSelectorRequirementsAsFieldSelector).
  it.fails("matchFields: metadata.name In takes exactly one name", () => {
    expect(
      filter(
        pod({ terms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["worker-1", "worker-2"] }] }] }),
        node({}, "worker-1"),
      ),
    ).toEqual(mismatch);
  });
});
