import { Etcd3, isRecoverableError } from "etcd3";
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from "cockatiel";
import { ApiError, FLOW_CONTROL_WINDOW_BYTES } from "@kubelab/client";
import { unavailable } from "../apiErrors.js";

export interface EtcdOptions {
  servers: string[];
  /** Deadline of one etcd request in ms; past it the API answers UNAVAILABLE. */
  requestTimeoutMs: number;
}

/**
 * An etcd client over every member. Each attempt gets a third of the request's deadline, so a
 * member that vanished without closing its connections (a stopped container) costs one short
 * attempt before the call moves to another member; a member failing twice in a row is skipped
 * for a second (circuit breaker). The watch stream reconnects within a few seconds.
 */
export function createEtcdClient(opts: EtcdOptions): Etcd3 {
  const attemptMs = Math.max(500, Math.floor(opts.requestTimeoutMs / 3));
  return new Etcd3({
    hosts: opts.servers,
    dialTimeout: attemptMs,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + attemptMs }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(2) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }).next(),
    },
    grpcOptions: {
      "grpc.max_receive_message_length": 512 * 1024 * 1024,
      "grpc.keepalive_time_ms": 5000,
      "grpc.keepalive_timeout_ms": 3000,
      // The one etcd watch carries every write in the cluster: its window must not pace it (see
      // FLOW_CONTROL_WINDOW_BYTES in @kubelab/client).
      "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW_BYTES,
    },
  });
}

/**
 * Bounds an etcd operation by the request deadline, so a cluster without quorum answers
 * UNAVAILABLE instead of hanging, and maps transport errors to UNAVAILABLE.
 */
export async function withDeadline<T>(timeoutMs: number, what: string, op: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unavailable(`etcd did not answer ${what} within ${timeoutMs} ms (is a quorum of members up?)`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([op(), timeout]);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw unavailable(`etcd ${what} failed: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
