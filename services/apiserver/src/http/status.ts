import type { ApiError, StatusReason } from "@kubelab/api";

/** The HTTP code of each Kubernetes reason (k8s.io/apimachinery/pkg/api/errors). */
const CODE_BY_REASON: Record<StatusReason, number> = {
  Invalid: 422,
  BadRequest: 400,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Forbidden: 403,
  Expired: 410,
  RequestEntityTooLarge: 413,
  ServiceUnavailable: 503,
  Timeout: 504,
  MethodNotAllowed: 405,
  UnsupportedMediaType: 415,
  NotAcceptable: 406,
  InternalError: 500,
  Unknown: 500,
};

/** A metav1.Status, as kube-apiserver writes a failure (or a deletion that is done). */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: Array<{ reason: string; message: string; field: string }>;
  };
  code: number;
}

/**
 * The Status body and HTTP code of an API error. A cause's message is its detail without the field
 * path, which the cause's `field` carries, as Kubernetes' causes read ("Invalid value: -1: must be
 * greater than or equal to 0").
 */
export function statusOfError(e: ApiError): StatusBody {
  const code = CODE_BY_REASON[e.reason] ?? 500;
  const details: NonNullable<StatusBody["details"]> = {};
  // Kubernetes' StatusDetails leave out what is empty (omitempty): a core group is no group.
  if (e.subject?.name) details.name = e.subject.name;
  if (e.subject?.group) details.group = e.subject.group;
  if (e.subject?.kind) details.kind = e.subject.kind;
  if (e.causes.length) {
    details.causes = e.causes.map((c) => ({
      reason: c.type,
      message: c.message.startsWith(`${c.field}: `) ? c.message.slice(c.field.length + 2) : c.message,
      field: c.field,
    }));
  }
  // Keys in kube-apiserver's order (metav1.Status's fields), so a body reads the same as a real cluster's.
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: e.message,
    reason: e.reason,
    ...(Object.keys(details).length ? { details } : {}),
    code,
  };
}

/** The Status of a deletion that removed the object at once. */
export function deletedStatus(details: { name: string; group: string; kind: string; uid: string }): StatusBody {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details, code: 200 };
}
