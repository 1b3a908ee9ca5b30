import net from "node:net";
import type { Container, HTTPGetAction, Probe, TCPSocketAction } from "@kubelab/api";
import type { Value } from "@bufbuild/protobuf/wkt";

export interface ProbeOutcome {
  ok: boolean;
  /** Kubernetes' wording of why it failed (shown in the Unhealthy event). */
  message: string;
}

export interface ProbeTarget {
  podIP: string;
  container: Container;
  /** Runs a command in the container (exec probes and hooks). */
  exec(cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }>;
}

/** A probe's port: a number, or the name of one of the container's ports. */
export function resolvePort(port: Value | undefined, container: Container): number {
  const kind = port?.kind;
  if (kind?.case === "numberValue") return kind.value;
  if (kind?.case === "stringValue") {
    const n = Number(kind.value);
    if (Number.isInteger(n) && n > 0) return n;
    const named = container.ports.find((p) => p.name === kind.value);
    if (named) return named.containerPort;
    throw new Error(`couldn't find port: ${kind.value} in ${container.name}`);
  }
  throw new Error("port is required");
}

export async function httpGet(action: HTTPGetAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = action.host || target.podIP;
  const port = resolvePort(action.port, target.container);
  const path = action.path ? (action.path.startsWith("/") ? action.path : `/${action.path}`) : "/";
  const url = `${(action.scheme || "HTTP").toLowerCase()}://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
  const headers: Record<string, string> = { "User-Agent": "kube-probe/1.31", Accept: "*/*" };
  for (const h of action.httpHeaders) headers[h.name] = h.value;
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await res.arrayBuffer().catch(() => undefined);
    // Kubernetes counts 200-399 as success.
    if (res.status >= 200 && res.status < 400) return { ok: true, message: "" };
    return { ok: false, message: `HTTP probe failed with statuscode: ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === "TimeoutError" || err.name === "AbortError") {
      return { ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` };
    }
    const why = err.cause?.code === "ECONNREFUSED" ? "connect: connection refused" : (err.cause?.message ?? err.message);
    return { ok: false, message: `Get "${url}": dial tcp ${host}:${port}: ${why}` };
  }
}

export function tcpSocket(action: TCPSocketAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = action.host || target.podIP;
  const port = resolvePort(action.port, target.container);
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (o: ProbeOutcome) => {
      sock.destroy();
      resolve(o);
    };
    sock.setTimeout(timeoutMs, () => done({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }));
    sock.once("connect", () => done({ ok: true, message: "" }));
    sock.once("error", (e: NodeJS.ErrnoException) =>
      done({ ok: false, message: `dial tcp ${host}:${port}: ${e.code === "ECONNREFUSED" ? "connect: connection refused" : e.message}` }),
    );
  });
}

export async function execProbe(command: string[], target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  try {
    const { exitCode, output } = await target.exec(command, timeoutMs);
    if (exitCode === 0) return { ok: true, message: "" };
    return { ok: false, message: output.trim() || `command ${JSON.stringify(command.join(" "))} exited with ${exitCode}` };
  } catch (e) {
    return {
      ok: false,
      message: `command ${JSON.stringify(command.join(" "))} timed out${e instanceof Error && !/timed out/.test(e.message) ? `: ${e.message}` : ""}`,
    };
  }
}

/** One run of a probe, bounded by its timeoutSeconds. */
export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds || 1) * 1000;
  try {
    if (probe.httpGet) return await httpGet(probe.httpGet, target, timeoutMs);
    if (probe.tcpSocket) return await tcpSocket(probe.tcpSocket, target, timeoutMs);
    if (probe.exec) return await execProbe(probe.exec.command, target, timeoutMs);
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  return { ok: false, message: "probe has no handler (exec, httpGet or tcpSocket)" };
}
