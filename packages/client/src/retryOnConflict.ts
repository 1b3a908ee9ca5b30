import { isConflict } from "@kubelab/api";
import { ExponentialBackoff, retryWithBackoff } from "./backoff.js";

/**
 * client-go's retry.RetryOnConflict: runs a read-modify-write again when another writer got in
 * between (ABORTED), a few times with a short jittered back-off; any other error ends it.
 */
export function retryOnConflict<T>(readModifyWrite: () => Promise<T>, attempts = 5): Promise<T> {
  return retryWithBackoff(readModifyWrite, {
    backoff: new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 1000, jitter: true }),
    attempts,
    retry: isConflict,
  });
}
