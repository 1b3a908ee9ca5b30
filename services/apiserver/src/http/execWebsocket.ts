import type http from "node:http";
import type { Duplex } from "node:stream";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ExecInputSchema, ExecRequestSchema, type ApiError, type ExecOutput, type ExecRequest } from "@kubelab/api";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { kubeletStreamFailed, toApiError } from "../apiErrors.js";
import { checkExecRequest, type KubeletProxy } from "../server/kubeletProxy.js";
import { isTrue } from "./routes.js";
import { statusOfError } from "./status.js";

/**
 * Kubernetes' WebSocket channel protocol for exec and attach, as kubectl 1.32 speaks it: each
 * binary message is one channel byte then data. Channels: 0 stdin, 1 stdout, 2 stderr, 3 the
 * final Status (JSON), 4 terminal resizes ({"Width":..,"Height":..}); v5 adds 255, a client's
 * "close this channel" (its stdin ended). v4 is v5 without it.
 */
export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;
/** Output a slow client may leave waiting before the kubelet's stream is paused. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** The exec or attach request a URL's query describes (PodExecOptions / PodAttachOptions). */
export function execRequestOf(namespace: string, name: string, subresource: "exec" | "attach", q: URLSearchParams): ExecRequest {
  return create(ExecRequestSchema, {
    namespace,
    name,
    container: q.get("container") ?? "",
    command: subresource === "exec" ? q.getAll("command") : [],
    stdin: isTrue(q.get("stdin")),
    stdout: isTrue(q.get("stdout")),
    stderr: isTrue(q.get("stderr")),
    tty: isTrue(q.get("tty")),
    attach: subresource === "attach",
  });
}

/** The Status kubectl reads on channel 3 when the command ends: Success, or NonZeroExitCode with the code as a cause. */
export function exitStatus(req: ExecRequest, exitCode: number): object {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${req.command.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** Picks the protocol, the newest both sides speak; undefined when the client offers none of them. */
export function chooseProtocol(offered: string | undefined): string | undefined {
  const list = (offered ?? "").split(",").map((p) => p.trim());
  return EXEC_PROTOCOLS.find((p) => list.includes(p));
}

/**
 * Serves a WebSocket upgrade of pods/exec or pods/attach: the request is checked and the kubelet's
 * stream opened before the upgrade is accepted (so a missing pod or a bad container is an HTTP
 * Status kubectl prints), then the channels are relayed to and from the kubelet, with
 * back-pressure both ways.
 */
export class ExecWebsockets {
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => chooseProtocol([...protocols].join(",")) ?? false,
  });

  constructor(private readonly kubelets: KubeletProxy) {}

  async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, exec: ExecRequest): Promise<void> {
    const protocol = chooseProtocol(req.headers["sec-websocket-protocol"] as string | undefined);
    let opened: Awaited<ReturnType<KubeletProxy["openExec"]>>;
    try {
      if (!protocol) throw new Error(`none of the supported protocols was offered: ${EXEC_PROTOCOLS.join(", ")}`);
      checkExecRequest(exec);
      opened = await this.kubelets.openExec(exec);
    } catch (e) {
      return refuse(socket, toApiError(e));
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => relay(ws, opened, protocol === "v5.channel.k8s.io"));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}

/** Answers an upgrade request with the Status of `err` instead of upgrading: kubectl prints its message. */
export function refuse(socket: Duplex, err: ApiError): void {
  const status = statusOfError(err);
  const body = JSON.stringify(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${status.reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function relay(ws: WebSocket, opened: Awaited<ReturnType<KubeletProxy["openExec"]>>, v5: boolean): void {
  const { upstream, request, node, address } = opened;
  let finished = false;
  const finish = (status: object) => {
    if (finished) return;
    finished = true;
    ws.send(Buffer.concat([Buffer.from([ERROR]), Buffer.from(JSON.stringify(status))]), () => ws.close(1000));
  };
  const out = (channel: number, data: Uint8Array) => {
    ws.send(Buffer.concat([Buffer.from([channel]), data]), () => {
      if (ws.bufferedAmount < MAX_BUFFERED_BYTES) upstream.resume();
    });
    if (ws.bufferedAmount >= MAX_BUFFERED_BYTES) upstream.pause();
  };
  upstream.on("data", (m: ExecOutput) => {
    const o = m.output;
    if (o.case === "stdout") out(STDOUT, o.value);
    else if (o.case === "stderr") out(STDERR, o.value);
    else if (o.case === "exit") finish(exitStatus(request, o.value.exitCode));
  });
  upstream.on("end", () => finish({ metadata: {}, status: "Success" }));
  upstream.on("error", (e: grpc.ServiceError) => {
    if (e.code === grpc.status.CANCELLED) return;
    finish(statusOfError(kubeletStreamFailed(node, address, e)));
  });
  upstream.on("drain", () => ws.resume());
  ws.on("message", (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (buf.length === 0) return;
    const channel = buf[0];
    const payload = buf.subarray(1);
    let input: Parameters<typeof create<typeof ExecInputSchema>>[1] | undefined;
    if (channel === STDIN && payload.length) input = { input: { case: "stdin", value: payload } };
    else if (channel === RESIZE && payload.length) {
      try {
        const size = JSON.parse(payload.toString("utf8")) as { Width?: number; Height?: number };
        input = { input: { case: "resize", value: { width: size.Width ?? 0, height: size.Height ?? 0 } } };
      } catch {
        return;
      }
    } else if (v5 && channel === CLOSE && payload[0] === STDIN) input = { input: { case: "closeStdin", value: true } };
    if (input && !upstream.write(create(ExecInputSchema, input))) ws.pause();
  });
  ws.on("close", () => {
    if (!finished) upstream.cancel();
    finished = true;
  });
  ws.on("error", () => upstream.cancel());
}
