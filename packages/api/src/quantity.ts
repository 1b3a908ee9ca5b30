// Kubernetes' resource quantity grammar (k8s.io/apimachinery/pkg/api/resource):
//   <quantity> ::= <signedNumber><suffix>
//   <suffix>   ::= Ki | Mi | Gi | Ti | Pi | Ei | n | u | m | "" | k | M | G | T | P | E | e<signedNumber> | E<signedNumber>
// Written by hand: no maintained npm package implements this grammar.

export const QUANTITY_REGEX_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const binarySuffixes: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimalSuffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const quantityRe = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/;

export class QuantityError extends Error {}

/** Parses a quantity to its value in base units (cores, bytes, count). */
export function parseQuantity(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input)) throw new QuantityError(QUANTITY_REGEX_MESSAGE);
    return input;
  }
  const s = input.trim();
  const m = quantityRe.exec(s);
  if (!m || s !== input) throw new QuantityError(QUANTITY_REGEX_MESSAGE);
  const num = Number(m[1]);
  const suffix = m[2];
  if (suffix in binarySuffixes) return num * binarySuffixes[suffix];
  if (suffix in decimalSuffixes) return num * decimalSuffixes[suffix];
  const exp = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
  if (exp) return num * 10 ** Number(exp[1]);
  throw new QuantityError(QUANTITY_REGEX_MESSAGE);
}

export function isQuantity(input: string): boolean {
  try {
    parseQuantity(input);
    return true;
  } catch {
    return false;
  }
}

/** Milli-units, as the scheduler sums CPU requests ("500m" -> 500, "2" -> 2000). */
export function milliValue(input: string): number {
  return Math.ceil(parseQuantity(input) * 1000 - 1e-9);
}

/** Whole units rounded up, as Kubernetes' Value() does for memory and counts. */
export function wholeValue(input: string): number {
  return Math.ceil(parseQuantity(input) - 1e-9);
}
