import type * as grpc from "@grpc/grpc-js";
import { toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { protoPath as healthProtoPath } from "grpc-health-check";

function collect(file: DescFile, into: Map<string, DescFile>): void {
  if (into.has(file.name)) return;
  for (const dep of file.dependencies) collect(dep, into);
  into.set(file.name, file);
}

/** The standard health service, as grpc-health-check serves it. */
export const HEALTH_SERVICE = "grpc.health.v1.Health";

/**
 * gRPC server reflection from the descriptors protobuf-es embeds in the generated code, so
 * grpcurl and friends work without our .proto files. Every kind's file is included, so tools
 * can decode the google.protobuf.Any payloads too; so is grpc.health.v1 (from the health
 * package's own .proto), so `grpcurl ... grpc.health.v1.Health/Check` finds it.
 */
export function addReflection(server: grpc.Server, files: DescFile[], services: string[]): void {
  const all = new Map<string, DescFile>();
  for (const f of files) collect(f, all);
  const fileDescriptorProtos = [...all.values()].map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  const health = loadSync(healthProtoPath);
  const packageDefinition = { ...health, kubelab: { fileDescriptorProtos } } as unknown as ConstructorParameters<
    typeof ReflectionService
  >[0];
  new ReflectionService(packageDefinition, { services: [...services, HEALTH_SERVICE] }).addToServer(server);
}
