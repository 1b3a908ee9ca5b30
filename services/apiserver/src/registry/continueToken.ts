import { invalidContinue } from "../apiErrors.js";

// A LIST's continue token: the revision of the list's first page and the key after the last item
// sent, so later pages read one snapshot (Kubernetes' continue token carries the same two).

export interface ContinuePoint {
  /** The revision every page of the list is read at. */
  rev: number;
  /** The first key of the next page. */
  start: string;
}

export function encodeContinue(rev: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: rev, start: `${lastKey}\u0000` })).toString("base64url");
}

/** The point a token continues from; BadRequest for a token that is not one of this list's (`prefix`). */
export function decodeContinue(token: string, prefix: string): ContinuePoint {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { rv: number; start: string };
    if (typeof t.rv !== "number" || typeof t.start !== "string" || !t.start.startsWith(prefix)) throw new Error();
    return { rev: t.rv, start: t.start };
  } catch {
    throw invalidContinue("the token does not belong to this list");
  }
}
