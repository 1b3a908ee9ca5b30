import * as grpc from "@grpc/grpc-js";
import type { DescMessage, DescService } from "@bufbuild/protobuf";
import { decodeMessage, encodeMessage } from "@kubelab/api";

// A grpc-js service definition from a protobuf-es service descriptor. Written by hand because
// protobuf-es targets Connect, and @grpc/proto-loader would parse the .proto files a second time
// into untyped objects; this keeps one set of generated types for client and server.

function serializer(schema: DescMessage) {
  // Pre-encoded bytes pass through, so the API server encodes a watch event once for many watchers.
  return (msg: unknown): Buffer => {
    const bytes = msg instanceof Uint8Array ? msg : encodeMessage(schema, msg as never);
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(schema: DescMessage) {
  return (buf: Buffer) => decodeMessage(schema, buf);
}

/**
 * A request whose bytes are not the method's message. grpc-js answers a deserializer that throws
 * with INTERNAL ("Error deserializing request"), a server fault; a server definition made with
 * `{ server: true }` hands this to the handler instead, which answers INVALID_ARGUMENT.
 */
export class UndecodableRequest {
  constructor(
    readonly messageName: string,
    readonly cause: unknown,
  ) {}
}

function lenientDeserializer(schema: DescMessage) {
  return (buf: Buffer): unknown => {
    try {
      return decodeMessage(schema, buf);
    } catch (e) {
      return new UndecodableRequest(schema.typeName, e);
    }
  };
}

/**
 * The grpc-js definition of a protobuf-es service. For a server (`{ server: true }`), requests
 * that cannot be decoded reach the handler as an UndecodableRequest.
 */
export function grpcServiceDefinition(service: DescService, opts: { server?: boolean } = {}): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    def[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: opts.server ? lenientDeserializer(method.input) : deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return def;
}

/** A grpc-js client class for a protobuf-es service; `Stub` types the methods grpc-js gives it. */
export function grpcClientClass<Stub extends grpc.Client>(
  service: DescService,
): new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => Stub {
  return grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.name) as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions,
  ) => Stub;
}
