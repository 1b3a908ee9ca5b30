// Field selectors: "a=b,c!=d" over a fixed set of fields per kind, as Kubernetes supports them.

export class FieldSelectorError extends Error {}

export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  static parse(text: string): FieldSelector {
    const reqs: FieldRequirement[] = [];
    for (const raw of text.split(",")) {
      const part = raw.trim();
      if (!part) continue;
      const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
      if (!m) throw new FieldSelectorError(`invalid selector: '${part}'; can't understand '${part}'`);
      reqs.push({ field: m[1].trim(), operator: m[2] === "!=" ? "!=" : "=", value: m[3].trim() });
    }
    return new FieldSelector(reqs);
  }

  get empty(): boolean {
    return this.requirements.length === 0;
  }

  /** Throws when a field is not one of the kind's selectable fields, in Kubernetes' words. */
  checkSupported(supported: ReadonlySet<string>): void {
    for (const r of this.requirements) {
      if (!supported.has(r.field)) throw new FieldSelectorError(`field label not supported: ${r.field}`);
    }
  }

  matches(fields: (name: string) => string): boolean {
    return this.requirements.every((r) => (fields(r.field) === r.value) === (r.operator === "="));
  }

  /** The value required for a field by an "=" requirement, used to narrow a scan. */
  exactValue(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator === "=")?.value;
  }
}
