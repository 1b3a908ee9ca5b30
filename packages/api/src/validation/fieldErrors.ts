// Field errors worded as Kubernetes words them (k8s.io/apimachinery/pkg/util/validation/field),
// so a message learned here reads the same against a real cluster.

export type FieldErrorType = "Required" | "Invalid" | "NotSupported" | "Duplicate" | "Forbidden" | "TooLong" | "TooMany" | "NotFound";

export class FieldError {
  constructor(
    readonly type: FieldErrorType,
    readonly field: string,
    readonly value?: unknown,
    readonly detail?: string,
  ) {}

  toString(): string {
    switch (this.type) {
      case "Required":
        return `${this.field}: Required value${this.detail ? `: ${this.detail}` : ""}`;
      case "Invalid":
        return `${this.field}: Invalid value: ${formatValue(this.value)}${this.detail ? `: ${this.detail}` : ""}`;
      case "NotSupported":
        return `${this.field}: Unsupported value: ${formatValue(this.value)}${this.detail ? `: ${this.detail}` : ""}`;
      case "Duplicate":
        return `${this.field}: Duplicate value: ${formatValue(this.value)}`;
      case "Forbidden":
        return `${this.field}: Forbidden: ${this.detail ?? ""}`;
      case "TooLong":
        return `${this.field}: Too long: ${this.detail ?? ""}`;
      case "NotFound":
        return `${this.field}: Not found: ${formatValue(this.value)}`;
      case "TooMany":
        return `${this.field}: Too many: ${formatValue(this.value)}: ${this.detail ?? ""}`;
    }
  }
}

export const required = (field: string, detail?: string) => new FieldError("Required", field, undefined, detail);
export const invalid = (field: string, value: unknown, detail: string) => new FieldError("Invalid", field, value, detail);
export const forbidden = (field: string, detail: string) => new FieldError("Forbidden", field, undefined, detail);
export const duplicate = (field: string, value: unknown) => new FieldError("Duplicate", field, value);
export const tooLong = (field: string, max: number) => new FieldError("TooLong", field, undefined, `may not be more than ${max} bytes`);
/** Kubernetes' field.TooLong, as ConfigMap and Secret data limits word it. */
export const tooLongBytes = (field: string, max: number) => new FieldError("TooLong", field, undefined, `must have at most ${max} bytes`);
export const notFound = (field: string, value: unknown) => new FieldError("NotFound", field, value);
export const notSupported = (field: string, value: unknown, supported: readonly string[]) =>
  new FieldError("NotSupported", field, value, `supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`);

/** A value Kubernetes prints with Go's %#v (a struct, a map): the text as Go prints it. */
export class GoSyntax {
  constructor(readonly text: string) {}
}

/** A Go string literal, as %q and %#v print one. */
export const goQuote = (s: string) => JSON.stringify(s);

/** A map[string]string as Go's %#v prints it: keys sorted, nil when empty. */
export function goStringMap(m: Record<string, string>): string {
  const keys = Object.keys(m).sort();
  if (!keys.length) return "map[string]string(nil)";
  return `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(m[k]!)}`).join(", ")}}`;
}

function formatValue(v: unknown): string {
  if (v instanceof GoSyntax) return v.text;
  if (typeof v === "string") return JSON.stringify(v);
  // Kubernetes prints values with Go's %#v: a list of strings is []string{"a", "b"}.
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return `[]string{${v.map((x) => JSON.stringify(x)).join(", ")}}`;
  if (v === undefined) return "null";
  if (typeof v === "object" && v !== null) return JSON.stringify(v);
  return String(v);
}

/** `Pod "web" is invalid: [a, b]`: Kubernetes' aggregate wording for a rejected object. */
export function invalidObjectMessage(kind: string, name: string, errors: readonly FieldError[]): string {
  const parts = errors.map((e) => e.toString());
  return `${kind} "${name}" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(", ")}]`}`;
}

/** Thrown by decoding and validation; the API server maps it to INVALID_ARGUMENT. */
export class InvalidObjectError extends Error {
  constructor(
    readonly kind: string,
    readonly objectName: string,
    readonly causes: readonly FieldError[],
    message?: string,
  ) {
    super(message ?? invalidObjectMessage(kind, objectName, causes));
    this.name = "InvalidObjectError";
  }
}
