import * as grpc from "@grpc/grpc-js";

// The API contract's one error type, beside the types as apimachinery keeps its errors for both
// client-go and the apiserver: the API server builds these (services/apiserver/src/apiErrors.ts,
// with Kubernetes' wording), clients receive them, and both classify them by code or reason.

/** Kubernetes' StatusReason for each way a request fails, carried in the "kubelab-reason" trailer. */
export type StatusReason =
  | "Invalid"
  | "BadRequest"
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Forbidden"
  | "Expired"
  | "RequestEntityTooLarge"
  | "ServiceUnavailable"
  | "Timeout"
  | "MethodNotAllowed"
  | "UnsupportedMediaType"
  | "NotAcceptable"
  | "InternalError"
  | "Unknown";

export interface Cause {
  field: string;
  type: string;
  message: string;
}

export const REASON_KEY = "kubelab-reason";
export const CAUSES_KEY = "kubelab-causes";

/** What the error is about, as a Status body's details name it: the object, its API group, and its resource (or kind). */
export interface ErrorSubject {
  name: string;
  group: string;
  /** The resource ("deployments") for NotFound, AlreadyExists and Conflict; the kind ("Deployment") for Invalid, as Kubernetes has it. */
  kind: string;
}

export interface ApiErrorOptions {
  /** What went wrong underneath (an INTERNAL error keeps the original, as connect-es's ConnectError does). */
  cause?: unknown;
  subject?: ErrorSubject;
  /** Whether an API server sent it, with its reason (false: the call failed on the way, e.g. no server). */
  fromServer?: boolean;
}

/** An API error: a gRPC status code, Kubernetes' reason, and the field causes of a validation failure. */
export class ApiError extends Error {
  readonly fromServer: boolean;
  readonly subject: ErrorSubject | undefined;

  constructor(
    readonly code: grpc.status,
    message: string,
    readonly reason: StatusReason,
    readonly causes: readonly Cause[] = [],
    options: ApiErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiError";
    this.fromServer = options.fromServer ?? true;
    this.subject = options.subject;
  }

  /** The error a gRPC call ended with, as the server sent it (or as the transport failed). */
  static fromServiceError(err: grpc.ServiceError): ApiError {
    const sent = err.metadata?.get(REASON_KEY)[0] as string | undefined;
    const reason = sent ?? defaultReason(err.code);
    let causes: Cause[] = [];
    const raw = err.metadata?.get(CAUSES_KEY)[0];
    if (typeof raw === "string") {
      try {
        causes = JSON.parse(raw) as Cause[];
      } catch {
        /* causes are a courtesy; the message already says it all */
      }
    }
    return new ApiError(err.code, err.details || err.message, reason as StatusReason, causes, {
      cause: err,
      fromServer: sent !== undefined,
    });
  }

  /** The metadata the server sends with this error. */
  toMetadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set(REASON_KEY, this.reason);
    if (this.causes.length) md.set(CAUSES_KEY, JSON.stringify(this.causes));
    return md;
  }
}

function defaultReason(code: grpc.status): StatusReason {
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
      return "Invalid";
    case grpc.status.NOT_FOUND:
      return "NotFound";
    case grpc.status.ALREADY_EXISTS:
      return "AlreadyExists";
    case grpc.status.ABORTED:
      return "Conflict";
    case grpc.status.OUT_OF_RANGE:
      return "Expired";
    case grpc.status.RESOURCE_EXHAUSTED:
      return "RequestEntityTooLarge";
    case grpc.status.UNAVAILABLE:
      return "ServiceUnavailable";
    case grpc.status.DEADLINE_EXCEEDED:
      return "Timeout";
    case grpc.status.PERMISSION_DENIED:
      return "Forbidden";
    default:
      return "Unknown";
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === grpc.status.NOT_FOUND;
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.code === grpc.status.ALREADY_EXISTS;
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === grpc.status.ABORTED;
export const isInvalid = (e: unknown) => e instanceof ApiError && e.code === grpc.status.INVALID_ARGUMENT;
/** The resourceVersion asked for is compacted away: relist (Kubernetes' 410 Gone). */
export const isGone = (e: unknown) => e instanceof ApiError && e.code === grpc.status.OUT_OF_RANGE;
export const isForbidden = (e: unknown) => e instanceof ApiError && e.code === grpc.status.PERMISSION_DENIED;
export const isUnavailable = (e: unknown) =>
  e instanceof ApiError && (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED);
/** No API server answered: the connection failed or the deadline passed before any answer. */
export const isUnreachable = (e: unknown) =>
  e instanceof ApiError && !e.fromServer && (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED);

/** The value of `p`, or undefined when what it reads or deletes is not there (Kubernetes' IgnoreNotFound). */
export async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
