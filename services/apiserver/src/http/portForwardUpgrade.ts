import type http from "node:http";
import type { Duplex } from "node:stream";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { PortForwardInputSchema, PortForwardRequestSchema, type PortForwardInput, type PortForwardOutput } from "@kubelab/api";
import type { Logger } from "@kubelab/service-kit";
import { WebSocketServer, createWebSocketStream } from "ws";
import { badRequest, toApiError } from "../apiErrors.js";
import type { KubeletProxy } from "../server/kubeletProxy.js";
import { refuse } from "./execWebsocket.js";
import {
  FLAG_FIN,
  FrameReader,
  FrameType,
  GoAwayStatus,
  HeaderCompression,
  type HeaderMap,
  RstStatus,
  SPDY_VERSION,
  SpdyProtocolError,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  goAwayFrame,
  parseHeaders,
  parsePing,
  parseRstStream,
  parseSynStream,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
  type Frame,
} from "./spdyFraming.js";

/*
 * pods/portforward for kubectl (k8s.io/client-go/tools/portforward, kubectl 1.32): one upgraded
 * connection carries SPDY/3.1, on which kubectl opens, per local connection, an "error" stream
 * and a "data" stream with the same port and requestID headers. The server pairs them, relays the
 * data stream to the pod's port (through the pod's kubelet: KubeletService.PortForward, one gRPC
 * stream per pair) and writes any failure as text on the error stream, as the kubelet does
 * (pkg/kubelet/cri/streaming/portforward/httpstream.go).
 *
 * kubectl first asks for a WebSocket with the subprotocol "SPDY/3.1+portforward.k8s.io" and sends
 * the SPDY bytes in its binary messages (tools/portforward/tunneling_dialer.go); when that upgrade
 * fails it falls back to a plain SPDY/3.1 upgrade (kubectl's createDialer). Both are served here.
 */

export const PORT_FORWARD_PROTOCOL = "portforward.k8s.io";
/** The WebSocket subprotocol of the tunnel: SPDY/3.1+ and the protocol spoken over SPDY. */
export const TUNNELING_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

/** How long the first stream of a pair waits for the other, as the kubelet's default streamCreationTimeout. */
const STREAM_CREATION_TIMEOUT_MS = 30_000;
/** Streams a connection may hold open: two for each local connection kubectl forwards. */
const MAX_STREAMS = 256;
/** The longest SPDY frame accepted; kubectl's DATA frames are at most 32 KiB (io.Copy's buffer). */
const MAX_FRAME_BYTES = 1024 * 1024;
/** A header block's size once decompressed; kubectl's carry three short headers. */
const MAX_HEADER_BLOCK_BYTES = 64 * 1024;
/** Output a slow client may leave waiting before the kubelets' streams are paused. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Bytes a data stream may send before its pair is complete (kubectl sends none). */
const MAX_EARLY_DATA_BYTES = 256 * 1024;

/** What the kubelet requires of each stream's headers (httpStreamReceived), parsed. */
export interface StreamHeaders {
  streamType: "error" | "data";
  port: number;
  requestId: string;
}

/**
 * Checks a new stream's headers as the kubelet does: a port of 1-65535 and a stream type of
 * "error" or "data". A stream without a requestID (clients older than Kubernetes 1.6) gets one
 * from its stream id, as the kubelet's best effort does: an error stream N and its data stream N+2.
 */
export function checkStreamHeaders(headers: HeaderMap, streamId: number): StreamHeaders | { error: string } {
  const first = (name: string) => headers.get(name)?.[0] ?? "";
  const portText = first("port");
  if (!portText) return { error: `"port" header is required` };
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) return { error: `unable to parse "${portText}" as a port` };
  const port = Number(portText);
  if (port < 1) return { error: `port "${portText}" must be > 0` };
  const streamType = first("streamtype");
  if (!streamType) return { error: `"streamType" header is required` };
  if (streamType !== "error" && streamType !== "data") return { error: `invalid stream type "${streamType}"` };
  const requestId = first("requestid") || String(streamType === "error" ? streamId : streamId - 2);
  return { streamType, port, requestId };
}

/** The error and data streams of one forwarded connection, as they arrive. */
export interface StreamPair<S> {
  requestId: string;
  error?: S;
  data?: S;
}

/**
 * Pairs streams by requestID, as the kubelet's httpStreamHandler does: the first stream of a
 * request creates its pair, the second completes it (and the pair leaves: a later stream with the
 * same requestID starts a new one); a second stream of the same type is an error.
 */
export class StreamPairs<S, P extends StreamPair<S> = StreamPair<S>> {
  private readonly pending = new Map<string, P>();

  constructor(private readonly newPair: (requestId: string) => P = (requestId) => ({ requestId }) as P) {}

  add(requestId: string, streamType: "error" | "data", stream: S): { pair: P; created: boolean; complete: boolean; error?: string } {
    let pair = this.pending.get(requestId);
    const created = !pair;
    if (!pair) this.pending.set(requestId, (pair = this.newPair(requestId)));
    if (pair[streamType] !== undefined) return { pair, created, complete: false, error: `${streamType} stream already assigned` };
    pair[streamType] = stream;
    const complete = pair.error !== undefined && pair.data !== undefined;
    if (complete) this.pending.delete(requestId);
    return { pair, created, complete };
  }

  /** Forgets an incomplete pair (it timed out, or one of its streams was reset). */
  delete(pair: P): void {
    if (this.pending.get(pair.requestId) === pair) this.pending.delete(pair.requestId);
  }

  values(): IterableIterator<P> {
    return this.pending.values();
  }
}

/** The header values of a request, comma-separated lists and repeated headers alike. */
const headerList = (v: string | string[] | undefined): string[] =>
  (Array.isArray(v) ? v : [v ?? ""])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Why an upgrade request of pods/portforward cannot be served (Kubernetes' wording), or undefined:
 * a WebSocket must offer the tunneling subprotocol; a SPDY upgrade must say so in Connection and
 * Upgrade and offer portforward.k8s.io in X-Stream-Protocol-Version.
 */
export function upgradeProblem(headers: http.IncomingHttpHeaders): string | undefined {
  const upgrade = (headers.upgrade ?? "").toLowerCase();
  if (upgrade === "websocket") {
    if (!headerList(headers["sec-websocket-protocol"]).includes(TUNNELING_PROTOCOL))
      return "unable to upgrade: no tunneling spdy protocols provided";
    return undefined;
  }
  if (!(headers.connection ?? "").toLowerCase().includes("upgrade") || !upgrade.includes("spdy/3.1"))
    return "unable to upgrade: missing upgrade headers in request";
  const offered = headerList(headers["x-stream-protocol-version"]);
  if (offered.length === 0) return "unable to upgrade: X-Stream-Protocol-Version is required";
  if (!offered.includes(PORT_FORWARD_PROTOCOL))
    return `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server accepts [${PORT_FORWARD_PROTOCOL}]`;
  return undefined;
}

/**
 * Serves upgrades of pods/portforward: the request and the pod are checked before the upgrade is
 * accepted (so a missing or stopped pod is an HTTP Status kubectl prints), then one SPDY session
 * runs over the upgraded socket or over the WebSocket's binary messages.
 */
export class PortForwardUpgrades {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES + 8 });
  private readonly sessions = new Set<PortForwardSession>();

  constructor(
    private readonly kubelets: KubeletProxy,
    private readonly log: Logger,
  ) {
    // ws refuses Kubernetes' subprotocol name ("/" is no token character in RFC 6455's grammar),
    // so upgrade() hides it from ws once checked, and the answer names it here.
    this.wss.on("headers", (headers: string[]) => headers.push(`Sec-WebSocket-Protocol: ${TUNNELING_PROTOCOL}`));
  }

  async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, namespace: string, name: string): Promise<void> {
    try {
      const problem = upgradeProblem(req.headers);
      if (problem) throw badRequest(problem);
      await this.kubelets.checkPortForward(namespace, name);
    } catch (e) {
      return refuse(socket, toApiError(e));
    }
    // The client may have gone while the pod was looked up: no session for a closed socket.
    if (socket.destroyed) return;
    const pod = { namespace: namespace || "default", name };
    if ((req.headers.upgrade ?? "").toLowerCase() === "websocket") {
      delete req.headers["sec-websocket-protocol"];
      this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(createWebSocketStream(ws), pod, Buffer.alloc(0)));
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`,
    );
    this.serve(socket, pod, head);
  }

  close(): void {
    for (const s of this.sessions) s.close();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private serve(transport: Duplex, pod: { namespace: string; name: string }, head: Buffer): void {
    const session = new PortForwardSession(transport, pod, this.kubelets, this.log, () => this.sessions.delete(session));
    this.sessions.add(session);
    session.start(head);
  }
}

type Upstream = grpc.ClientDuplexStream<PortForwardInput, PortForwardOutput>;

interface SpdyStream extends StreamHeaders {
  id: number;
  /** The client sent FIN: it will send nothing more. */
  remoteFin: boolean;
  pair?: Forward;
}

interface Forward extends StreamPair<SpdyStream> {
  timer?: NodeJS.Timeout;
  upstream?: Upstream;
  /** What a data stream sent before the kubelet's stream was open. */
  early: Buffer[];
  earlyBytes: number;
  finished: boolean;
}

/**
 * One client's SPDY session. Frames are handled one at a time, in order (a header block's
 * decompression depends on every block before it); while one waits (for zlib or for the kubelet's
 * stream to open) the client's input is paused, and so it is while a kubelet's stream cannot take
 * more. Output is bounded likewise: past MAX_BUFFERED_BYTES the kubelets' streams are paused.
 */
class PortForwardSession {
  private readonly reader = new FrameReader(MAX_FRAME_BYTES);
  private readonly inflate = new HeaderCompression("decompress", MAX_HEADER_BLOCK_BYTES);
  private readonly deflate = new HeaderCompression("compress", MAX_HEADER_BLOCK_BYTES);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly pairs = new StreamPairs<SpdyStream, Forward>((requestId) => ({ requestId, early: [], earlyBytes: 0, finished: false }));
  private readonly forwards = new Set<Forward>();
  /** Kubelet streams that asked the input to wait (their write returned false). */
  private readonly blocked = new Set<Upstream>();
  private lastStreamId = 0;
  private pumping = false;
  private waiting = false;
  private outputFull = false;
  private closed = false;

  constructor(
    private readonly transport: Duplex,
    private readonly pod: { namespace: string; name: string },
    private readonly kubelets: KubeletProxy,
    private readonly log: Logger,
    private readonly onClose: () => void,
  ) {}

  start(head: Buffer): void {
    this.transport.on("data", (chunk: Buffer) => {
      this.reader.push(chunk);
      void this.pump();
    });
    this.transport.on("drain", () => {
      this.outputFull = false;
      for (const f of this.forwards) f.upstream?.resume();
    });
    this.transport.on("end", () => this.close());
    this.transport.on("close", () => this.close());
    this.transport.on("error", () => this.close());
    this.reader.push(head);
    void this.pump();
  }

  /** Ends the session and every kubelet stream of it; `farewell`, if given, is the last frame sent. */
  close(farewell?: Buffer): void {
    if (this.closed) return;
    this.closed = true;
    for (const pair of [...this.pairs.values(), ...this.forwards]) {
      clearTimeout(pair.timer);
      pair.upstream?.cancel();
    }
    this.inflate.close();
    this.deflate.close();
    if (farewell) this.transport.end(farewell);
    else this.transport.destroy();
    this.onClose();
  }

  /** Handles the frames read so far, in order. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let frame = this.reader.next(); frame && !this.closed; frame = this.reader.next()) {
        const pending = this.handle(frame);
        if (!pending) continue;
        this.waiting = true;
        this.updateInput();
        await pending;
        this.waiting = false;
        this.updateInput();
      }
    } catch (e) {
      this.goAway(e);
    } finally {
      this.pumping = false;
    }
  }

  private handle(frame: Frame): Promise<void> | undefined {
    if (frame.kind === "data") return this.onData(frame.streamId, frame.flags, frame.data);
    if (frame.version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${frame.version}`);
    switch (frame.type) {
      case FrameType.SYN_STREAM:
        return this.onSynStream(frame.flags, parseSynStream(frame.payload));
      case FrameType.RST_STREAM:
        return this.onReset(parseRstStream(frame.payload).streamId);
      case FrameType.PING: {
        // The client's pings have odd ids; the server answers with the same frame.
        const id = parsePing(frame.payload);
        if (id % 2 === 1) this.send(pingFrame(id));
        return undefined;
      }
      case FrameType.GOAWAY:
        this.close();
        return undefined;
      case FrameType.HEADERS:
        // Nothing to do with them, but they go through the zlib stream, which later blocks continue.
        return this.inflate.run(parseHeaders(frame.payload).headerBlock).then(() => {});
      default:
        // SETTINGS and WINDOW_UPDATE (spdystream does no flow control either), and types SPDY says to ignore.
        return undefined;
    }
  }

  private async onSynStream(flags: number, syn: { streamId: number; headerBlock: Buffer }): Promise<void> {
    const headers = decodeHeaderBlock(await this.inflate.run(syn.headerBlock));
    const id = syn.streamId;
    // A client's streams have odd ids, each above the last (spdystream's validateStreamId).
    if (id % 2 === 0 || id <= this.lastStreamId) return this.send(rstStreamFrame(id, RstStatus.PROTOCOL_ERROR));
    this.lastStreamId = id;
    if (this.streams.size >= MAX_STREAMS) return this.send(rstStreamFrame(id, RstStatus.REFUSED_STREAM));
    const checked = checkStreamHeaders(headers, id);
    if ("error" in checked) {
      this.log.debug("port-forward stream rejected", { stream: id, error: checked.error });
      return this.send(rstStreamFrame(id, RstStatus.CANCEL));
    }
    const stream: SpdyStream = { id, ...checked, remoteFin: (flags & FLAG_FIN) !== 0 };
    this.streams.set(id, stream);
    this.send(synReplyFrame(id, await this.deflate.run(encodeHeaderBlock({}))));
    if (this.closed) return;
    const added = this.pairs.add(stream.requestId, stream.streamType, stream);
    const pair = added.pair;
    if (added.error) {
      // The kubelet's answer to a third stream of a request: the message on the pair's error stream.
      this.streams.delete(id);
      this.send(rstStreamFrame(id, RstStatus.CANCEL));
      if (pair.error)
        this.send(dataFrame(pair.error.id, Buffer.from(`error processing stream for request ${pair.requestId}: ${added.error}`)));
      return;
    }
    stream.pair = pair;
    if (added.created) pair.timer = setTimeout(() => this.timedOut(pair), STREAM_CREATION_TIMEOUT_MS);
    if (added.complete) {
      clearTimeout(pair.timer);
      this.forwards.add(pair);
      await this.openUpstream(pair);
    }
  }

  private timedOut(pair: Forward): void {
    this.pairs.delete(pair);
    this.finish(pair, `request ${pair.requestId}: timed out waiting for streams`);
  }

  /** Opens the kubelet's stream to the data stream's port, and relays the two. */
  private async openUpstream(pair: Forward): Promise<void> {
    const data = pair.data!;
    let upstream: Upstream;
    try {
      upstream = (await this.kubelets.openPortForward(create(PortForwardRequestSchema, { ...this.pod, port: data.port }))).upstream;
    } catch (e) {
      return this.finish(pair, `error forwarding port ${data.port} to pod ${this.pod.name}: ${toApiError(e).message}`);
    }
    if (pair.finished) {
      upstream.on("error", () => {});
      upstream.cancel();
      return;
    }
    pair.upstream = upstream;
    upstream.on("data", (m: PortForwardOutput) => {
      if (pair.finished || m.data.length === 0) return;
      this.send(dataFrame(data.id, m.data));
      if (this.outputFull) upstream.pause();
    });
    upstream.on("drain", () => {
      this.blocked.delete(upstream);
      this.updateInput();
    });
    upstream.on("end", () => this.finish(pair));
    // The kubelet words its failures as Kubernetes' kubelet does ("error forwarding port …"); a
    // cancel is ours, when the client went away.
    upstream.on("error", (e: grpc.ServiceError) => this.finish(pair, e.code === grpc.status.CANCELLED ? undefined : e.details));
    for (const chunk of pair.early.splice(0)) this.forward(pair, chunk);
    if (data.remoteFin) this.closeWrite(upstream);
  }

  private onData(streamId: number, flags: number, data: Buffer): undefined {
    const stream = this.streams.get(streamId);
    // A stream already reset or finished: its data is dropped, as spdystream drops it.
    if (!stream) return undefined;
    const pair = stream.pair;
    if (data.length && stream.streamType === "data" && pair && !pair.finished) {
      if (pair.upstream) this.forward(pair, data);
      else if ((pair.earlyBytes += data.length) > MAX_EARLY_DATA_BYTES)
        this.finish(pair, `request ${pair.requestId}: more than ${MAX_EARLY_DATA_BYTES} bytes before the error stream`);
      else pair.early.push(data);
    }
    if (flags & FLAG_FIN) {
      stream.remoteFin = true;
      if (stream.streamType === "data" && pair?.upstream && !pair.finished) this.closeWrite(pair.upstream);
    }
    return undefined;
  }

  private forward(pair: Forward, data: Buffer): void {
    const upstream = pair.upstream!;
    if (!upstream.write(create(PortForwardInputSchema, { input: { case: "data", value: data } }))) {
      this.blocked.add(upstream);
      this.updateInput();
    }
  }

  /** The client will send no more: the pod's side of the connection sees end of input. */
  private closeWrite(upstream: Upstream): void {
    upstream.write(create(PortForwardInputSchema, { input: { case: "closeWrite", value: true } }));
    upstream.end();
  }

  /** The client reset a stream: its pair ends, and the kubelet's stream with it. */
  private onReset(streamId: number): undefined {
    const stream = this.streams.get(streamId);
    if (!stream) return undefined;
    this.streams.delete(streamId);
    if (stream.pair) {
      this.pairs.delete(stream.pair);
      this.finish(stream.pair);
    }
    return undefined;
  }

  /**
   * Ends a forwarded connection as the kubelet does: the message (if any) on the error stream,
   * then FIN on the error stream and on the data stream, which is what kubectl waits for.
   */
  private finish(pair: Forward, message?: string): void {
    if (pair.finished) return;
    pair.finished = true;
    clearTimeout(pair.timer);
    this.forwards.delete(pair);
    pair.early = [];
    if (pair.upstream) {
      this.blocked.delete(pair.upstream);
      this.updateInput();
      pair.upstream.cancel();
    }
    if (message && pair.error && this.streams.has(pair.error.id)) this.send(dataFrame(pair.error.id, Buffer.from(message)));
    for (const s of [pair.error, pair.data]) {
      if (!s || !this.streams.has(s.id)) continue;
      this.send(dataFrame(s.id, Buffer.alloc(0), true));
      this.streams.delete(s.id);
    }
  }

  private send(frame: Buffer): void {
    if (this.closed) return;
    this.transport.write(frame);
    if (this.transport.writableLength >= MAX_BUFFERED_BYTES) this.outputFull = true;
  }

  private updateInput(): void {
    if (this.closed) return;
    if (this.waiting || this.blocked.size > 0) this.transport.pause();
    else this.transport.resume();
  }

  /** A broken protocol (or a bug here) ends the session with GOAWAY, as spdystream would. */
  private goAway(e: unknown): void {
    const protocol = e instanceof SpdyProtocolError;
    if (!protocol) this.log.error("port-forward session failed", { error: (e as Error)?.stack ?? String(e) });
    else this.log.debug("port-forward session ended by a protocol error", { error: (e as Error).message });
    this.close(goAwayFrame(this.lastStreamId, protocol ? GoAwayStatus.PROTOCOL_ERROR : GoAwayStatus.INTERNAL_ERROR));
  }
}
