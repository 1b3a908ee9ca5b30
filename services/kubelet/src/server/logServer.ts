import type { Readable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { KubeletService, PodLogChunkSchema, type PodLogChunk, type PodLogOptions } from "@kubelab/api";
import { grpcServiceDefinition, UndecodableRequest } from "@kubelab/client";
import type { DockerRuntime, RuntimeContainer } from "../runtime/dockerRuntime.js";
import { attemptsOf } from "../pods/podStatus.js";
import { portForwardHandler } from "./portForwardServer.js";
import { containerNameFor, execHandler, noPodContainers, podContainers, undecodable } from "./execServer.js";

type Call = grpc.ServerWritableStream<PodLogOptions | UndecodableRequest, PodLogChunk>;

// grpc-js ends a server stream with a status when "error" is emitted with code and details.
const fail = (call: Call, code: grpc.status, details: string) => call.emit("error", { code, details });

/** Picks the container a log request means: the named one, or the pod's only app container. */
function pick(req: PodLogOptions, containers: RuntimeContainer[]): { target?: RuntimeContainer; error?: [grpc.status, string] } {
  const pod = req.name;
  const { name, error } = containerNameFor(pod, req.container, containers);
  if (error) return { error };
  const attempts = attemptsOf(containers, name!);
  if (attempts.length === 0)
    return { error: [grpc.status.NOT_FOUND, `container "${name}" in pod "${pod}" is waiting to start: ContainerCreating`] };
  if (req.previous) {
    const prev =
      attempts.find((c) => c.attempt < attempts[0]!.attempt) ??
      (attempts[0]!.state !== "running" && attempts.length > 1 ? attempts[1] : undefined);
    if (!prev) return { error: [grpc.status.INVALID_ARGUMENT, `previous terminated container "${name}" in pod "${pod}" not found`] };
    return { target: prev };
  }
  return { target: attempts[0] };
}

/**
 * The kubelet's own gRPC server (KubeletService): container logs, exec and attach, found in Docker
 * by the pod's labels.
 */
export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(runtime: DockerRuntime, port: number, host = "0.0.0.0"): Promise<KubeletServer> {
  const server = new grpc.Server();
  server.addService(grpcServiceDefinition(KubeletService, { server: true }), {
    logs: async (call: Call) => {
      const req = call.request;
      if (req instanceof UndecodableRequest) return fail(call, ...undecodable(req));
      try {
        const opts = {
          follow: req.follow && !req.previous,
          tail: req.tailLines === undefined ? undefined : Number(req.tailLines),
          timestamps: req.timestamps,
          since: req.sinceSeconds === undefined ? undefined : Math.floor(Date.now() / 1000) - Number(req.sinceSeconds),
        };
        let stream: Readable;
        // A crash-looping container's pod syncer may prune the attempt picked here before its
        // logs are read; the pick is then made again from what Docker holds now.
        for (let tries = 0; ; tries++) {
          const containers = await podContainers(runtime, req.namespace, req.name);
          if (containers.length === 0) return fail(call, ...noPodContainers(req.name));
          const { target, error } = pick(req, containers);
          if (error) return fail(call, ...error);
          try {
            stream = await runtime.logs(target!.id, opts);
            break;
          } catch (e) {
            if ((e as { statusCode?: number }).statusCode !== 404 || tries >= 2) throw e;
          }
        }
        call.on("cancelled", () => stream.destroy());
        stream.on("data", (b: Buffer) => {
          if (!call.write(create(PodLogChunkSchema, { data: b }))) stream.pause();
        });
        call.on("drain", () => stream.resume());
        stream.on("end", () => call.end());
        stream.on("error", (e) => fail(call, grpc.status.INTERNAL, e.message));
      } catch (e) {
        fail(call, grpc.status.INTERNAL, (e as Error).message);
      }
    },
    exec: execHandler(runtime),
    portForward: portForwardHandler(runtime),
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    close: () => new Promise((r) => server.tryShutdown(() => r())),
  };
}
