import { labelValueErrors, qualifiedNameErrors } from "../validation/labels.js";
import type { LabelSelector as LabelSelectorMessage } from "../gen/kubelab/meta/v1/meta_pb.js";

// Kubernetes label selector syntax (k8s.io/apimachinery/pkg/labels):
//   a=b, a==b, a!=b, a in (x,y), a notin (x,y), a, !a
// Written by hand: the grammar is small and no maintained npm package parses it.

export type Operator = "=" | "!=" | "in" | "notin" | "exists" | "!";

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export class SelectorParseError extends Error {}

export class LabelSelector {
  constructor(readonly requirements: readonly Requirement[]) {}

  static everything(): LabelSelector {
    return new LabelSelector([]);
  }

  static parse(text: string): LabelSelector {
    return new LabelSelector(parseRequirements(text));
  }

  /** From a spec's selector (matchLabels and matchExpressions). */
  static fromMessage(sel: Pick<LabelSelectorMessage, "matchLabels" | "matchExpressions"> | undefined): LabelSelector {
    if (!sel) return new LabelSelector([]);
    const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, v]) => ({ key, operator: "=", values: [v] }));
    for (const e of sel.matchExpressions ?? []) {
      const op = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" } as const)[e.operator as "In"];
      if (!op) throw new SelectorParseError(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
      reqs.push({ key: e.key, operator: op, values: [...e.values] });
    }
    return new LabelSelector(reqs);
  }

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    const l = labels ?? {};
    return this.requirements.every((r) => {
      const has = Object.hasOwn(l, r.key);
      switch (r.operator) {
        case "=":
          return has && l[r.key] === r.values[0];
        case "!=":
          return !has || l[r.key] !== r.values[0];
        case "in":
          return has && r.values.includes(l[r.key]);
        case "notin":
          return !has || !r.values.includes(l[r.key]);
        case "exists":
          return has;
        case "!":
          return !has;
      }
    });
  }

  toString(): string {
    return this.requirements
      .map((r) => {
        switch (r.operator) {
          case "=":
          case "!=":
            return `${r.key}${r.operator}${r.values[0]}`;
          case "in":
          case "notin":
            return `${r.key} ${r.operator} (${r.values.join(",")})`;
          case "exists":
            return r.key;
          case "!":
            return `!${r.key}`;
        }
      })
      .join(",");
  }
}

function parseRequirements(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  let i = 0;
  const s = text;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const fail = (msg: string): never => {
    throw new SelectorParseError(`unable to parse requirement: ${msg}`);
  };
  const readIdent = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && !/[\s,=!()]/.test(s[i])) i++;
    return s.slice(start, i);
  };
  const checkKey = (key: string) => {
    const errs = qualifiedNameErrors(key);
    if (errs.length) fail(`invalid label key "${key}": ${errs.join("; ")}`);
  };
  const checkValue = (v: string) => {
    const errs = labelValueErrors(v);
    if (errs.length) fail(`invalid label value: "${v}": at key: ${errs.join("; ")}`);
  };

  skipWs();
  if (i >= s.length) return reqs;
  for (;;) {
    skipWs();
    if (s[i] === "!") {
      i++;
      const key = readIdent();
      if (!key) fail(`found '${s[i] ?? "end of string"}', expected: identifier after '!'`);
      checkKey(key);
      reqs.push({ key, operator: "!", values: [] });
    } else {
      const key = readIdent();
      if (!key) fail(`found '${s[i] ?? "end of string"}', expected: !, identifier, or 'end of string'`);
      checkKey(key);
      skipWs();
      if (i >= s.length || s[i] === ",") {
        reqs.push({ key, operator: "exists", values: [] });
      } else if (s.startsWith("!=", i) || s.startsWith("==", i) || s[i] === "=") {
        const op: Operator = s.startsWith("!=", i) ? "!=" : "=";
        i += s.startsWith("!=", i) || s.startsWith("==", i) ? 2 : 1;
        const value = readIdent();
        checkValue(value);
        reqs.push({ key, operator: op, values: [value] });
      } else {
        const word = readIdent();
        if (word !== "in" && word !== "notin") {
          fail(`found '${word || s[i]}', expected: in, notin, =, ==, !=, gt, lt`);
        }
        skipWs();
        if (s[i] !== "(") fail(`found '${s[i] ?? "end of string"}', expected: '('`);
        i++;
        const values: string[] = [];
        for (;;) {
          const v = readIdent();
          checkValue(v);
          values.push(v);
          skipWs();
          if (s[i] === ",") {
            i++;
            continue;
          }
          if (s[i] === ")") {
            i++;
            break;
          }
          fail(`found '${s[i] ?? "end of string"}', expected: ',' or ')'`);
        }
        if (values.length === 1 && values[0] === "" && word === "in") {
          fail("for 'in', 'notin' operators, values set can't be empty");
        }
        reqs.push({ key, operator: word as Operator, values });
      }
    }
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ",") fail(`found '${s[i]}', expected: ',' or 'end of string'`);
    i++;
  }
  return reqs;
}
