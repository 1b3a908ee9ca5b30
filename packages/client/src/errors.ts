import * as grpc from "@grpc/grpc-js";

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
  | "InternalError"
  | "Unknown";

export interface Cause {
  field: string;
  type: string;
  message: string;
}

export const REASON_KEY = "kubelab-reason";
export const CAUSES_KEY = "kubelab-causes";

/** An API error: a gRPC status code, Kubernetes' reason, and the field causes of a validation failure. */
export class ApiError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    readonly reason: StatusReason,
    readonly causes: readonly Cause[] = [],
  ) {
    super(message);
    this.name = "ApiError";
  }

  static fromServiceError(err: grpc.ServiceError): ApiError {
    const reason = (err.metadata?.get(REASON_KEY)[0] as string | undefined) ?? defaultReason(err.code);
    let causes: Cause[] = [];
    const raw = err.metadata?.get(CAUSES_KEY)[0];
    if (typeof raw === "string") {
      try {
        causes = JSON.parse(raw) as Cause[];
      } catch {
        /* causes are a courtesy; the message already says it all */
      }
    }
    return new ApiError(err.code, err.details || err.message, reason as StatusReason, causes);
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
export const isUnavailable = (e: unknown) =>
  e instanceof ApiError && (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED);
