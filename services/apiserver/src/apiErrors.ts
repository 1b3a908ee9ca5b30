import * as grpc from "@grpc/grpc-js";
import { ApiError, type ErrorSubject, FieldError, groupOf, InvalidObjectError, type KindDefinition } from "@kubelab/api";

// Every error the API server sends, with Kubernetes' wording (k8s.io/apimachinery/pkg/api/errors)
// and a gRPC code; nothing else in the server builds an ApiError.

const qualified = (def: KindDefinition) => (def.aggregated || !groupOf(def) ? def.resource : `${def.resource}.${groupOf(def)}`);

/** A Status's details for an error about one object: its name, group and resource (NewNotFound, NewConflict…). */
const about = (def: KindDefinition, name: string): ErrorSubject => ({
  name,
  group: groupOf(def),
  kind: def.resource,
});

export const notFound = (def: KindDefinition, name: string) =>
  new ApiError(grpc.status.NOT_FOUND, `${qualified(def)} "${name}" not found`, "NotFound", [], { subject: about(def, name) });

export const namespaceNotFound = (ns: string) =>
  new ApiError(grpc.status.NOT_FOUND, `namespaces "${ns}" not found`, "NotFound", [], {
    subject: { name: ns, group: "", kind: "namespaces" },
  });

export const alreadyExists = (def: KindDefinition, name: string) =>
  new ApiError(grpc.status.ALREADY_EXISTS, `${qualified(def)} "${name}" already exists`, "AlreadyExists", [], {
    subject: about(def, name),
  });

export const conflict = (
  def: KindDefinition,
  name: string,
  detail = "the object has been modified; please apply your changes to the latest version and try again",
) =>
  new ApiError(grpc.status.ABORTED, `Operation cannot be fulfilled on ${qualified(def)} "${name}": ${detail}`, "Conflict", [], {
    subject: about(def, name),
  });

export const forbidden = (def: KindDefinition, name: string, detail: string) =>
  new ApiError(grpc.status.PERMISSION_DENIED, `${qualified(def)} "${name}" is forbidden: ${detail}`, "Forbidden", [], {
    subject: about(def, name),
  });

export const badRequest = (message: string) => new ApiError(grpc.status.INVALID_ARGUMENT, message, "BadRequest");

export const tooLarge = (def: KindDefinition, name: string, size: number, limit: number) =>
  new ApiError(
    grpc.status.RESOURCE_EXHAUSTED,
    `${def.kind} "${name}" is too large: request is ${size} bytes, limit is ${limit} bytes`,
    "RequestEntityTooLarge",
  );

export const gone = (message: string) => new ApiError(grpc.status.OUT_OF_RANGE, message, "Expired");

export const tooOldResourceVersion = (requested: number, oldest: number) => gone(`too old resource version: ${requested} (${oldest})`);

export const unavailable = (detail: string, cause?: unknown) =>
  new ApiError(grpc.status.UNAVAILABLE, `storage is unavailable: ${detail}`, "ServiceUnavailable", [], { cause });

/** A continue token that is not this list's, or names a revision etcd has not reached. */
export const invalidContinue = (detail: string) => badRequest(`continue key is not valid: ${detail}`);

/** A resource (or subresource) this server does not serve. */
export const notFoundResource = (resource: string) =>
  new ApiError(grpc.status.NOT_FOUND, `the server could not find the requested resource (${resource})`, "NotFound");

/** A verb an aggregated kind does not take (metrics are read-only): MethodNotAllowed, as Kubernetes' 405. */
export const methodNotAllowed = () =>
  new ApiError(grpc.status.UNIMPLEMENTED, "the server does not allow this method on the requested resource", "MethodNotAllowed");

/** A patch of a media type this server does not take (server-side apply's included), as kube-apiserver's 415. */
export const unsupportedMediaType = (accepted: string[]) =>
  new ApiError(
    grpc.status.INVALID_ARGUMENT,
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    "UnsupportedMediaType",
  );

/**
 * A body the decoder cannot read as an object of the URL's kind, as kube-apiserver's
 * transformDecodeError words it (k8s.io/apiserver/pkg/endpoints/handlers/rest.go): by the kind and
 * version the body named, or, when it named none, with its first 30 bytes (as text if JSON, else in hex).
 */
export function undecodableBody(
  expectedKind: string,
  detail: string,
  sent: { apiVersion: string; kind: string } | undefined,
  body: Uint8Array,
) {
  if (sent?.kind) {
    const version = sent.apiVersion.slice(sent.apiVersion.indexOf("/") + 1);
    return badRequest(`${sent.kind} in version "${version}" cannot be handled as a ${expectedKind}: ${detail}`);
  }
  const head = Buffer.from(body.subarray(0, 30));
  const summary = body.length === 0 ? "<empty>" : `${head.toString(body[0] === 0x7b ? "utf8" : "hex")}${body.length > 30 ? " ..." : ""}`;
  return badRequest(`the object provided is unrecognized (must be of type ${expectedKind}): ${detail} (${summary})`);
}

/** A client that takes none of the media types a document is served in (kube-openapi's 406). */
export const notAcceptable = (offered: string[]) =>
  new ApiError(grpc.status.INVALID_ARGUMENT, `only the following media types are accepted: ${offered.join(", ")}`, "NotAcceptable");

/** A JSON patch that does not apply (a failed test, a path that is not there): 422, as kube-apiserver answers it. */
export const invalidPatch = (detail: string) =>
  new ApiError(grpc.status.INVALID_ARGUMENT, `the server rejected our request due to an error in our request: ${detail}`, "Invalid");

/** An HTTP request body over the server's limit. */
export const bodyTooLarge = (maxBytes: number) =>
  new ApiError(grpc.status.RESOURCE_EXHAUSTED, `the request body is larger than ${maxBytes} bytes`, "RequestEntityTooLarge");

/** The API server behind an aggregated kind (metrics-server) is missing or does not answer. */
export const aggregatedApiUnavailable = (verb: string, def: KindDefinition, detail: string) =>
  new ApiError(
    grpc.status.UNAVAILABLE,
    `the server is currently unable to handle the request (${verb} ${def.resource}): ${detail}`,
    "ServiceUnavailable",
  );

/** An invalid Scale (the scale subresource), worded as Kubernetes' `Scale.autoscaling "web" is invalid`. */
export const invalidScale = (name: string, field: string, value: unknown, detail: string) =>
  invalid(new InvalidObjectError("Scale.autoscaling", name, [new FieldError("Invalid", field, value, detail)]));

/** pods/binding refused: the pod is bound already, being deleted, or another pod by that name. */
export const bindingConflict = (name: string, detail: string) =>
  new ApiError(grpc.status.ABORTED, `Operation cannot be fulfilled on pods/binding "${name}": ${detail}`, "Conflict", [], {
    subject: { name, group: "", kind: "pods/binding" },
  });

/** pods/log when the pod's node shows no kubelet endpoint. */
export const noKubeletEndpoint = (nodeName: string) =>
  new ApiError(grpc.status.UNAVAILABLE, `node ${nodeName} has no kubelet endpoint in its status`, "ServiceUnavailable");

/** pods/log when the kubelet's stream fails: unreachable is UNAVAILABLE, anything else its own code. */
export function kubeletStreamFailed(node: string, address: string, err: grpc.ServiceError): ApiError {
  const unreachable = err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED;
  return unreachable
    ? new ApiError(
        grpc.status.UNAVAILABLE,
        `the kubelet of node ${node} is unreachable at ${address}: ${err.details}`,
        "ServiceUnavailable",
        [],
        { cause: err },
      )
    : new ApiError(err.code, err.details, "BadRequest", [], { cause: err });
}

/** Open watches when the server stops: UNAVAILABLE, so clients watch again (on another server). */
export const shuttingDown = () =>
  new ApiError(grpc.status.UNAVAILABLE, "the API server is shutting down; please watch again", "ServiceUnavailable");

/** A watcher closed for not reading: UNAVAILABLE, so its client watches again from its last resourceVersion. */
export const watcherTooSlow = (detail: string) =>
  new ApiError(
    grpc.status.UNAVAILABLE,
    `the watcher was too slow and was closed (${detail}); please watch again from its last resourceVersion`,
    "ServiceUnavailable",
  );

/**
 * A LIST without a limit whose answer would not fit in one gRPC message: the client is told to
 * page (with a limit, the server returns fewer items per page instead).
 */
export const listTooLarge = (resource: string, bytes: number, maxBytes: number) =>
  new ApiError(
    grpc.status.RESOURCE_EXHAUSTED,
    `the list of ${resource} is ${bytes} bytes or more, larger than one response may be (${maxBytes} bytes): list it in pages with limit and continue`,
    "BadRequest",
  );

/** Request bytes that are not the message the method takes: the client's mistake, not the server's. */
export const undecodableRequest = (what: string, cause: unknown) =>
  badRequest(`the request could not be decoded as ${what}: ${(cause as Error)?.message ?? String(cause)}`);

export function invalid(e: InvalidObjectError): ApiError {
  // The kind is qualified by its group ("Deployment.apps"), as Kubernetes' NewInvalid takes a GroupKind.
  const [kind = "", ...group] = e.kind.split(".");
  return new ApiError(
    grpc.status.INVALID_ARGUMENT,
    e.message,
    "Invalid",
    e.causes.map((c) => ({
      field: c.field,
      type: `Field${c.type === "NotSupported" ? "ValueNotSupported" : `Value${c.type}`}`,
      message: c.toString(),
    })),
    { subject: { name: e.objectName, group: group.join("."), kind } },
  );
}

/** Any error thrown while serving a request, as the ApiError the client gets. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof InvalidObjectError) return invalid(e);
  return new ApiError(grpc.status.INTERNAL, `Internal error occurred: ${(e as Error)?.message ?? String(e)}`, "InternalError", [], {
    cause: e,
  });
}
