import { backOff } from "exponential-backoff";
import { isConflict } from "@kubelab/api";

/**
 * client-go's retry.RetryOnConflict: runs a read-modify-write again when another writer got in
 * between (ABORTED), a few times with a short jittered back-off; any other error ends it.
 */
export function retryOnConflict<T>(readModifyWrite: () => Promise<T>, attempts = 5): Promise<T> {
  return backOff(readModifyWrite, { numOfAttempts: attempts, startingDelay: 10, timeMultiple: 5, jitter: "full", retry: (e) => isConflict(e) });
}
