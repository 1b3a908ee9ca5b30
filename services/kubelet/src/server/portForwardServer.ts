import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { PortForwardOutputSchema, type PortForwardInput, type PortForwardOutput } from "@kubelab/api";
import { UndecodableRequest } from "@kubelab/client";
import type { DockerRuntime } from "../runtime/dockerRuntime.js";
import { noPodContainers, podContainers, undecodable } from "./execServer.js";

type PortForwardCall = grpc.ServerDuplexStream<PortForwardInput | UndecodableRequest, PortForwardOutput>;

const fail = (call: PortForwardCall, code: grpc.status, details: string) => call.emit("error", { code, details });

/**
 * KubeletService.PortForward: one TCP connection to a port of one of this node's pods, at the
 * pod's IP on the pods network (which the kubelet is on), as Kubernetes' kubelet dials into the
 * pod's network namespace. Bytes are relayed both ways with back-pressure; a half-close goes
 * through; either side ending or failing ends the other.
 */
export function portForwardHandler(runtime: DockerRuntime): (call: PortForwardCall) => void {
  return (call) => {
    call.once("data", (first: PortForwardInput | UndecodableRequest) => {
      call.pause();
      if (first instanceof UndecodableRequest) return fail(call, ...undecodable(first));
      if (first.input.case !== "start") {
        return fail(
          call,
          grpc.status.INVALID_ARGUMENT,
          "the first message of a port-forward stream must be its start: the pod and the port",
        );
      }
      const { namespace, name, port } = first.input.value;
      if (!(port > 0 && port < 65536)) return fail(call, grpc.status.INVALID_ARGUMENT, `invalid port ${port}: must be 1-65535`);
      void podContainers(runtime, namespace, name).then(
        (containers) => {
          const sandbox = containers.find((c) => c.type === "sandbox" && c.state === "running");
          if (containers.length === 0) return fail(call, ...noPodContainers(name));
          if (!sandbox?.ip) return fail(call, grpc.status.FAILED_PRECONDITION, `pod "${name}" has no running sandbox with an IP`);
          connect(call, sandbox.ip, port, `${namespace}/${name}`, sandbox.podUid);
        },
        (e: Error) => fail(call, grpc.status.INTERNAL, e.message),
      );
    });
  };
}

function connect(call: PortForwardCall, ip: string, port: number, pod: string, uid: string): void {
  const socket = net.connect({ host: ip, port });
  let connected = false;
  socket.on("connect", () => {
    connected = true;
    call.resume();
  });
  socket.on("data", (b: Buffer) => {
    if (!call.write(create(PortForwardOutputSchema, { data: b }))) socket.pause();
  });
  call.on("drain", () => socket.resume());
  socket.on("end", () => call.end());
  socket.on("error", (e) => {
    // Kubernetes' wording (the kubelet's port forwarder).
    const details = `error forwarding port ${port} to pod ${pod}, uid ${uid}: ${e.message}`;
    // FAILED_PRECONDITION, not UNAVAILABLE: the kubelet answered; the pod's port refused. The API
    // server reads UNAVAILABLE as the kubelet itself being unreachable.
    if (!connected) fail(call, grpc.status.FAILED_PRECONDITION, details);
    else call.destroy(new Error(details));
  });
  call.on("data", (m: PortForwardInput | UndecodableRequest) => {
    if (m instanceof UndecodableRequest) return;
    if (m.input.case === "data" && !socket.write(m.input.value)) call.pause();
    else if (m.input.case === "closeWrite") socket.end();
  });
  socket.on("drain", () => call.resume());
  call.on("end", () => socket.end());
  call.on("cancelled", () => socket.destroy());
  call.on("close", () => socket.destroy());
}
