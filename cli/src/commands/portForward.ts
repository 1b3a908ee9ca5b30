import net from "node:net";
import { create } from "@bufbuild/protobuf";
import {
  LabelSelector,
  PortForwardInputSchema,
  isPodReady,
  targetPortOf,
  type Deployment,
  type Pod,
  type PortForwardOutput,
  type Service,
} from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import { connect, namespaceOf, type GlobalOptions } from "../context.js";
import { UsageError } from "../errors.js";

/** "8080", "9000:8080", ":8080" (a free local port), "9000:http" (a named port), as kubectl takes them. */
export function parsePortPair(spec: string): { local: number; remote: string } {
  const [localText = "", remote = ""] = spec.includes(":") ? spec.split(":", 2) : [spec, spec];
  const local = localText === "" ? 0 : Number(localText);
  if (!/^[\w-]+$/.test(remote) || !Number.isInteger(local) || local < 0 || local > 65535)
    throw new UsageError(`invalid port format '${spec}'`);
  return { local, remote };
}

/** The pod a TYPE/NAME stands for (a running, ready one of a Service or Deployment), and the pod's port for `remote`. */
async function resolveTarget(client: ApiClient, namespace: string, target: string, remote: string): Promise<{ pod: Pod; port: number }> {
  const [kind, name] = target.includes("/") ? (target.split("/", 2) as [string, string]) : ["pod", target];
  let pod: Pod;
  let port: string | number = remote;
  const pick = async (selector: string) => {
    const pods = (await client.list<Pod>("pods", { namespace, labelSelector: selector })).items.filter(
      (p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp,
    );
    const chosen = pods.find(isPodReady) ?? pods[0];
    if (!chosen) throw new UsageError(`no running pod for ${target}`);
    return chosen;
  };
  if (["pod", "pods", "po"].includes(kind)) pod = await client.get<Pod>("pods", namespace, name);
  else if (["svc", "service", "services"].includes(kind)) {
    const svc = await client.get<Service>("services", namespace, name);
    const sp = svc.spec?.ports.find((p) => String(p.port) === remote || p.name === remote);
    if (!sp) throw new UsageError(`Service ${name} does not have a service port ${remote}`);
    pod = await pick(
      Object.entries(svc.spec?.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    );
    port = targetPortOf(sp.targetPort, sp.port);
  } else if (["deploy", "deployment", "deployments"].includes(kind)) {
    const d = await client.get<Deployment>("deployments", namespace, name);
    pod = await pick(LabelSelector.fromMessage(d.spec?.selector).toString());
  } else {
    throw new UsageError(`cannot port-forward to ${kind}: use a pod, a service or a deployment`);
  }
  if (typeof port === "string" && !/^\d+$/.test(port)) {
    const named = pod.spec?.containers.flatMap((c) => c.ports).find((p) => p.name === port);
    if (!named) throw new UsageError(`Pod '${pod.metadata?.name}' does not have a named port '${port}'`);
    port = named.containerPort;
  }
  return { pod, port: Number(port) };
}

/**
 * kubectl port-forward TYPE/NAME [LOCAL:]REMOTE...: listens on 127.0.0.1, and each connection
 * there is one PortForward stream to the pod's port, through the API server and the pod's kubelet.
 * Runs until interrupted.
 */
export async function portForward(target: string, ports: string[], opts: GlobalOptions & { address?: string }): Promise<void> {
  if (ports.length === 0) throw new UsageError("at least 1 PORT is required for port-forward");
  const client = connect(opts);
  const namespace = namespaceOf(opts);
  const address = opts.address ?? "127.0.0.1";
  const servers: net.Server[] = [];
  for (const spec of ports) {
    const { local, remote } = parsePortPair(spec);
    const { pod, port } = await resolveTarget(client, namespace, target, remote);
    const podName = pod.metadata!.name;
    const server = net.createServer((socket) => {
      process.stdout.write(`Handling connection for ${(server.address() as net.AddressInfo).port}\n`);
      const call = client.portForward(namespace, podName, port);
      socket.on("data", (b: Buffer) => {
        if (!call.write(create(PortForwardInputSchema, { input: { case: "data", value: b } }))) socket.pause();
      });
      call.on("drain", () => socket.resume());
      socket.on("end", () => call.write(create(PortForwardInputSchema, { input: { case: "closeWrite", value: true } })));
      call.on("data", (m: PortForwardOutput) => {
        if (!socket.write(m.data)) call.pause();
      });
      socket.on("drain", () => call.resume());
      call.on("end", () => socket.end());
      call.on("error", (e: Error & { details?: string }) => {
        process.stderr.write(
          `error: an error occurred forwarding ${(server.address() as net.AddressInfo).port} -> ${port}: ${e.details ?? e.message}\n`,
        );
        socket.destroy();
      });
      socket.on("error", () => call.cancel());
      socket.on("close", () => call.end());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(local, address, () => resolve());
    });
    servers.push(server);
    process.stdout.write(`Forwarding from ${address}:${(server.address() as net.AddressInfo).port} -> ${port}\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  for (const s of servers) s.close();
  client.close();
}
