import type { Readable } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { KubeletService, PodLogChunkSchema, type PodLogChunk, type PodLogOptions } from "@kubelab/api";
import { grpcServiceDefinition } from "@kubelab/client";
import type { DockerRuntime, RuntimeContainer } from "../runtime/dockerRuntime.js";
import { attemptsOf } from "../pods/podStatus.js";

type Call = grpc.ServerWritableStream<PodLogOptions, PodLogChunk>;

// grpc-js ends a server stream with a status when "error" is emitted with code and details.
const fail = (call: Call, code: grpc.status, details: string) => call.emit("error", { code, details });

/** Picks the container a log request means: the named one, or the pod's only app container. */
function pick(req: PodLogOptions, containers: RuntimeContainer[]): { target?: RuntimeContainer; error?: [grpc.status, string] } {
  const pod = req.name;
  const names = [...new Set(containers.filter((c) => c.type === "app").map((c) => c.name))];
  let name = req.container;
  if (!name) {
    if (names.length !== 1)
      return {
        error: [grpc.status.INVALID_ARGUMENT, `a container name must be specified for pod ${pod}, choose one of: [${names.join(" ")}]`],
      };
    name = names[0]!;
  }
  const attempts = attemptsOf(containers, name);
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

/** The kubelet's own gRPC endpoint: container logs, read from Docker by the pod's labels. */
/** The kubelet's own gRPC server (KubeletService: logs). */
export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(runtime: DockerRuntime, port: number, host = "0.0.0.0"): Promise<KubeletServer> {
  const server = new grpc.Server();
  server.addService(grpcServiceDefinition(KubeletService), {
    logs: async (call: Call) => {
      const req = call.request;
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
          const list = (await runtime.list()).filter((c) => c.podNamespace === req.namespace && c.podName === req.name);
          if (list.length === 0) return fail(call, grpc.status.NOT_FOUND, `pod "${req.name}" has no containers on this node`);
          // The newest incarnation of the pod (a pod recreated under the same name has a new uid).
          const newest = list.reduce((a, b) => (a.createdAt > b.createdAt ? a : b)).podUid;
          const { target, error } = pick(
            req,
            list.filter((c) => c.podUid === newest),
          );
          if (error) return fail(call, error[0], error[1]);
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
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    close: () => new Promise((r) => server.tryShutdown(() => r())),
  };
}
