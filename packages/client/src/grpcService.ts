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

export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    def[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
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
): new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => Stub {
  return grpc.makeGenericClientConstructor(grpcServiceDefinition(service), service.name) as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions,
  ) => Stub;
}
