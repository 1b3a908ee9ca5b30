import { Etcd3, isRecoverableError } from "etcd3";
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from "cockatiel";
import { ApiError } from "@kubelab/api";
import { FLOW_CONTROL_WINDOW_BYTES } from "@kubelab/client";
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

/** etcd's answer that the revision asked for was compacted away. */
export class RevisionCompactedError extends Error {}
/** etcd's answer that the revision asked for is newer than any it has. */
export class FutureRevisionError extends Error {}

// etcd answers both with gRPC OUT_OF_RANGE, but the etcd3 client drops the code and keeps only
// the text (its castGrpcError); these texts are constants of etcd's API (rpctypes.ErrCompacted,
// ErrFutureRev), so they are matched here, once, and callers test the error's type.
const ETCD_ERRORS: Array<[string, new (message: string) => Error]> = [
  ["etcdserver: mvcc: required revision has been compacted", RevisionCompactedError],
  ["etcdserver: mvcc: required revision is a future revision", FutureRevisionError],
];

const WRITES = new Set(["create", "update", "delete"]);

/**
 * Bounds an etcd operation by the request deadline, so a cluster without quorum answers
 * UNAVAILABLE instead of hanging; etcd's revision errors become their types, and transport
 * errors UNAVAILABLE.
 */
export async function withDeadline<T>(timeoutMs: number, what: string, op: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // As Kubernetes' timeouts say: a write etcd received may still be committed once it can.
  const mayApply = WRITES.has(what) ? "; the write may still take effect when etcd recovers" : "";
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unavailable(`etcd did not answer ${what} within ${timeoutMs} ms (is a quorum of members up?)${mayApply}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([op(), timeout]);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    const message = (e as Error)?.message ?? String(e);
    const typed = ETCD_ERRORS.find(([text]) => message.includes(text));
    if (typed) throw new typed[1](message);
    throw unavailable(`etcd ${what} failed: ${message}`, e);
  } finally {
    clearTimeout(timer);
  }
}
