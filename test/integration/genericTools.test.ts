import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { RunningApiServer } from "@kubelab/apiserver";
import type { ApiClient } from "@kubelab/client";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

// What a generic gRPC tool (grpcurl, grpc_health_probe) sees: the standard health and
// reflection services, loaded here from their own published .proto files, not from ours.
const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: what proto-loader loads is untyped
type Untyped = any;
const load = (file: string) =>
  grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true })) as Record<
    string,
    Untyped
  >;

describe("generic gRPC tools", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;
  let address: string;

  beforeAll(async () => {
    await etcd.start();
    ({ server, client } = await startTestApiServer(etcd.endpoints));
    address = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("answers grpc.health.v1 Check with SERVING", async () => {
    const healthProto = path.join(path.dirname(require.resolve("grpc-health-check/package.json")), "proto/health/v1/health.proto");
    const Health = load(healthProto).grpc.health.v1.Health;
    const health = new Health(address, grpc.credentials.createInsecure());
    for (const service of ["", "kubelab.apiserver.v1.ApiService"]) {
      const res = await new Promise<{ status: string }>((resolve, reject) =>
        health.Check({ service }, (err: Error | null, r: { status: string }) => (err ? reject(err) : resolve(r))),
      );
      expect(res.status).toBe("SERVING");
    }
    health.close();
  });

  it("lists the API service and serves the descriptors of every kind by reflection", async () => {
    const reflProto = path.join(
      path.dirname(require.resolve("@grpc/reflection/package.json")),
      "build/proto/grpc/reflection/v1/reflection.proto",
    );
    const Reflection = load(reflProto).grpc.reflection.v1.ServerReflection;
    const refl = new Reflection(address, grpc.credentials.createInsecure());
    const ask = (req: object) =>
      // biome-ignore lint/suspicious/noExplicitAny: reflection's answers are untyped
      new Promise<any>((resolve, reject) => {
        const call = refl.ServerReflectionInfo();
        call.on("data", (d: unknown) => {
          resolve(d);
          call.end();
        });
        call.on("error", reject);
        call.write(req);
      });
    const services = await ask({ list_services: "" });
    expect(services.list_services_response.service.map((s: { name: string }) => s.name).sort()).toEqual([
      "grpc.health.v1.Health",
      "kubelab.apiserver.v1.ApiService",
    ]);
    // What `grpcurl -plaintext ADDRESS grpc.health.v1.Health/Check` looks up first.
    const health = await ask({ file_containing_symbol: "grpc.health.v1.Health" });
    const healthFiles = health.file_descriptor_response.file_descriptor_proto.map((b: Buffer) => fromBinary(FileDescriptorProtoSchema, b));
    const healthFile = healthFiles.find((f: { package: string }) => f.package === "grpc.health.v1");
    expect(healthFile?.service.map((s: { name: string }) => s.name)).toEqual(["Health"]);
    const files = await ask({ file_containing_symbol: "kubelab.core.v1.Pod" });
    const names = files.file_descriptor_response.file_descriptor_proto.map((b: Buffer) => fromBinary(FileDescriptorProtoSchema, b).name);
    expect(names).toContain("kubelab/core/v1/pod.proto");
    expect(names).toContain("kubelab/meta/v1/meta.proto");
    refl.close();
  });
});
