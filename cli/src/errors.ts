import { ApiError, InvalidObjectError, isUnreachable } from "@kubelab/api";
import { YAMLParseError } from "yaml";

/** A mistake in what the user gave us, found before anything was sent. */
export class UsageError extends Error {}

/**
 * The one line a failure prints, as kubectl words it:
 * `Error from server (NotFound): pods "x" not found`, or `error: ...` for local problems.
 */
export function errorLine(e: unknown, server: string): string {
  if (e instanceof ApiError) {
    if (isUnreachable(e)) return `error: cannot reach the API server at ${server}: ${e.message}`;
    return `Error from server (${e.reason}): ${e.message}`;
  }
  if (e instanceof InvalidObjectError || e instanceof UsageError || e instanceof YAMLParseError) return `error: ${e.message}`;
  return `error: ${(e as Error)?.message ?? String(e)}`;
}
