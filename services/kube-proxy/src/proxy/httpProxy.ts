import net from "node:net";
import { performance } from "node:perf_hooks";
import { backendKey } from "./backendPool.js";
import { ChunkedScanner, HttpFramingError, headEnd, parseHead, requestBody, responseBody, type BodyFraming, type Head } from "./http1.js";
import { MetricCache } from "./metricCache.js";
import type { ProxyMetrics } from "./proxyMetrics.js";
import { noEndpointsMessage, type ServiceTarget } from "./serviceTarget.js";
import type { UpstreamConn, UpstreamHandler, UpstreamPool } from "./upstreamPool.js";

export interface HttpProxyDeps {
  upstreams: UpstreamPool;
  metrics: ProxyMetrics;
  connectTimeoutMs: number;
}

const EMPTY = Buffer.alloc(0);
/** Requests with bodies up to this size are held whole, so they can go to another endpoint. */
const REPLAYABLE_BODY_BYTES = 1 << 20;
/** A client that sends more than this ahead of its answers is paused. */
const MAX_CLIENT_BUFFER = 4 << 20;
const MAX_ATTEMPTS = 3;
const CLIENT_IDLE_MS = 120_000;
const REASONS: Record<number, string> = {
  400: "Bad Request",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

function plainResponse(status: number, body: string, close: boolean): Buffer {
  const text = `${body}\n`;
  return Buffer.from(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${close ? "connection: close\r\n" : ""}\r\n${text}`,
  );
}

/**
 * The HTTP side of a service port, request by request over keep-alive connections: each request
 * (head and body, when the body is known and up to 1 MiB) goes whole to one ready endpoint, and
 * to another when the connection fails before any answer; its response's bytes go back as they
 * come, framed just enough to know where it ends. Requests whose body streams (chunked, larger,
 * or waiting for 100-continue) and upgrades (WebSocket) turn the rest of their connection into a
 * byte tunnel to one endpoint.
 */
export function httpProxy(target: () => ServiceTarget | undefined, deps: HttpProxyDeps) {
  const cache = new MetricCache(deps.metrics);
  return (client: net.Socket): void => void new ClientConnection(client, target, deps, cache);
}

class ClientConnection {
  private buf: Buffer = EMPTY;
  private busy = false;
  private closeAfter = false;
  private ended = false;
  private tunnel?: { up?: net.Socket; pending: Buffer[] };
  private exchange?: Exchange;

  constructor(
    readonly client: net.Socket,
    readonly target: () => ServiceTarget | undefined,
    readonly deps: HttpProxyDeps,
    readonly cache: MetricCache,
  ) {
    client.setNoDelay(true);
    // A keep-alive client that goes quiet between requests is let go (as HAProxy's "timeout client").
    client.setTimeout(CLIENT_IDLE_MS, () => {
      if (!this.busy && !this.tunnel) client.destroy();
    });
    client.on("data", (d: Buffer) => this.onData(d));
    client.on("end", () => {
      this.ended = true;
      if (this.tunnel) {
        if (this.tunnel.up && !this.tunnel.up.connecting) this.tunnel.up.end(); // else ended once connected
      } else if (!this.busy) client.end();
    });
    client.on("error", () => client.destroy());
    client.on("close", () => {
      this.exchange?.abort();
      this.tunnel?.up?.destroy();
    });
  }

  private onData(d: Buffer): void {
    if (this.tunnel) {
      this.tunnel.pending.push(d); // until the upstream connects; piped after
      return;
    }
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (this.buf.length > MAX_CLIENT_BUFFER) this.client.pause();
    this.pump();
  }

  /** Takes the next whole request off the buffer, if there is one and none is in flight. */
  private pump(): void {
    while (!this.busy && !this.tunnel && !this.client.destroyed && this.buf.length) {
      let head: Head;
      let end: number;
      try {
        end = headEnd(this.buf);
        if (end < 0) return;
        head = parseHead(this.buf, end, "request");
      } catch (e) {
        const err = e as HttpFramingError;
        this.client.end(plainResponse(err.status ?? 400, err.message, true));
        this.buf = EMPTY;
        return;
      }
      const framing = requestBody(head);
      if (
        head.upgrade ||
        head.expectContinue ||
        framing.kind === "chunked" ||
        (framing.kind === "length" && framing.length > REPLAYABLE_BODY_BYTES)
      ) {
        this.startTunnel();
        return;
      }
      const total = end + (framing.kind === "length" ? framing.length : 0);
      if (this.buf.length < total) return;
      const request = this.buf.subarray(0, total);
      this.buf = this.buf.length === total ? EMPTY : this.buf.subarray(total);
      if (this.client.isPaused() && this.buf.length < MAX_CLIENT_BUFFER) this.client.resume();
      if (head.close) this.closeAfter = true;
      this.busy = true;
      this.exchange = new Exchange(this, head, request);
      this.exchange.send();
    }
    if (!this.busy && this.ended && !this.buf.length) this.client.end();
  }

  /** The exchange in flight is over; `close` if this connection cannot carry another. */
  done(close: boolean): void {
    this.busy = false;
    this.exchange = undefined;
    if (close || this.closeAfter) {
      this.client.end();
      return;
    }
    this.pump();
  }

  reply(status: number, body: string): void {
    const close = this.closeAfter || this.ended;
    this.client.write(plainResponse(status, body, close));
    this.done(close);
  }

  private startTunnel(): void {
    const t = this.target();
    const tunnel: { up?: net.Socket; pending: Buffer[] } = { pending: [this.buf] };
    this.tunnel = tunnel;
    this.buf = EMPTY;
    const b = t?.pool.pick(this.client.remoteAddress ?? "");
    if (!t || !b) {
      this.cache.count(this.cache.metrics.noEndpoints, t?.rule.id ?? "");
      this.client.end(plainResponse(503, noEndpointsMessage(t?.rule.service ?? "unknown"), true));
      return;
    }
    t.pool.acquire(b);
    const up = net.connect({ host: b.ip, port: b.port, noDelay: true, allowHalfOpen: true });
    tunnel.up = up;
    up.once("connect", () => {
      this.cache.count(this.cache.metrics.connections, t.rule.id, b.label);
      for (const p of tunnel.pending) up.write(p);
      tunnel.pending = [];
      this.client.setTimeout(0);
      // From here both directions are piped, with back-pressure.
      this.client.removeAllListeners("data");
      if (this.ended) up.end();
      else this.client.pipe(up);
      up.pipe(this.client);
    });
    up.once("close", () => t.pool.release(b));
    up.on("error", (e: NodeJS.ErrnoException) => {
      this.cache.count(this.cache.metrics.upstreamErrors, t.rule.id, b.label, e.code ?? "error");
      this.client.destroy();
    });
  }
}

/** One request and its response, over one upstream connection (or more, when it is retried). */
class Exchange implements UpstreamHandler {
  private conn?: UpstreamConn;
  private t!: ServiceTarget;
  private key = "";
  private label = "";
  private started = 0;
  private attempt = 0;
  private readonly tried = new Set<string>();
  private holding = false;
  private responded = false;
  private gotBytes = false;
  private finished = false;
  private aborted = false;
  private respBuf: Buffer = EMPTY;
  private resp?: Head;
  private framing: BodyFraming = { kind: "none" };
  private remaining = 0;
  private scanner?: ChunkedScanner;

  constructor(
    private readonly client: ClientConnection,
    private readonly head: Head,
    private readonly request: Buffer,
  ) {}

  abort(): void {
    this.aborted = true;
    this.conn?.socket.destroy();
  }

  send(): void {
    const { client } = this;
    const t = client.target();
    const b = t?.pool.pick(client.client.remoteAddress ?? "", this.tried);
    if (!t || !b) {
      if (!this.tried.size) client.cache.count(client.cache.metrics.noEndpoints, t?.rule.id ?? "");
      client.reply(
        this.tried.size ? 502 : 503,
        this.tried.size
          ? `no endpoint of service "${t!.rule.service}" answered: tried ${this.tried.size}`
          : noEndpointsMessage(t?.rule.service ?? "unknown"),
      );
      return;
    }
    this.attempt++;
    this.t = t;
    this.key = backendKey(b);
    this.label = b.label;
    this.started = performance.now();
    this.gotBytes = false;
    t.pool.acquire(b);
    this.holding = true;
    this.conn = client.deps.upstreams.take(b, this);
    this.conn.socket.write(this.request);
  }

  private releaseBackend(): void {
    if (this.holding) {
      this.holding = false;
      this.t.pool.release(this.conn!.backend);
    }
  }

  private finish(reusable: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.releaseBackend();
    const conn = this.conn!;
    if (reusable && !this.resp!.close && !this.aborted) this.client.deps.upstreams.give(conn);
    else {
      conn.handler = undefined;
      conn.socket.destroy();
    }
    const { cache } = this.client;
    cache.count(cache.metrics.requests, this.t.rule.id, this.label, String(this.resp!.status));
    cache.observe(cache.metrics.latency, this.t.rule.id, (performance.now() - this.started) / 1000);
    this.client.done(this.resp!.close || this.framing.kind === "until-close");
  }

  onData(d: Buffer): void {
    this.gotBytes = true;
    const sock = this.client.client;
    sock.cork();
    try {
      this.consume(d);
    } catch (e) {
      if (e instanceof HttpFramingError && !this.responded) {
        this.finished = true;
        this.releaseBackend();
        this.conn!.socket.destroy();
        this.client.cache.count(this.client.cache.metrics.upstreamErrors, this.t.rule.id, this.label, "bad response");
        this.client.reply(502, `upstream ${this.key} of service "${this.t.rule.service}" sent a malformed response: ${e.message}`);
      } else {
        this.conn!.socket.destroy();
        sock.destroy();
      }
    } finally {
      sock.uncork();
    }
    if (!this.finished && sock.writableNeedDrain && !this.conn!.socket.isPaused()) {
      const up = this.conn!.socket;
      up.pause();
      sock.once("drain", () => up.resume());
    }
  }

  onEnd(): void {
    if (this.finished) return;
    if (this.resp && this.framing.kind === "until-close") this.finish(false);
    else if (this.resp) {
      this.finished = true; // cut off mid-body
      this.releaseBackend();
      this.client.client.destroy();
    } else this.retryOrFail("closed before answering");
  }

  onError(e: NodeJS.ErrnoException): void {
    if (!this.finished) this.retryOrFail(e.code ?? "error");
  }

  private consume(d: Buffer): void {
    const sock = this.client.client;
    let data = d;
    while (data.length && !this.finished) {
      if (!this.resp) {
        this.respBuf = this.respBuf.length ? Buffer.concat([this.respBuf, data]) : data;
        data = EMPTY;
        const end = headEnd(this.respBuf);
        if (end < 0) return;
        const h = parseHead(this.respBuf, end, "response");
        sock.write(this.respBuf.subarray(0, end));
        data = this.respBuf.subarray(end);
        this.respBuf = EMPTY;
        this.responded = true;
        if (h.status >= 100 && h.status < 200 && h.status !== 101) continue; // interim: the final head follows
        this.resp = h;
        if (h.status === 101) return this.switchProtocols(data);
        this.framing = responseBody(h, this.head.method);
        if (this.framing.kind === "length") this.remaining = this.framing.length;
        else if (this.framing.kind === "chunked") this.scanner = new ChunkedScanner();
        if (this.framing.kind === "none" || (this.framing.kind === "length" && this.remaining === 0)) return this.finish(data.length === 0);
      } else if (this.framing.kind === "length") {
        const take = Math.min(this.remaining, data.length);
        sock.write(take === data.length ? data : data.subarray(0, take));
        this.remaining -= take;
        data = data.subarray(take);
        if (this.remaining === 0) return this.finish(data.length === 0);
      } else if (this.framing.kind === "chunked") {
        const e = this.scanner!.feed(data);
        if (e < 0) {
          sock.write(data);
          data = EMPTY;
        } else {
          sock.write(data.subarray(0, e));
          return this.finish(e === data.length);
        }
      } else {
        sock.write(data);
        data = EMPTY;
      }
    }
  }

  /** 101: both sides are a byte stream from here on, on this connection. */
  private switchProtocols(rest: Buffer): void {
    this.finished = true;
    this.releaseBackend();
    const up = this.conn!.socket;
    const sock = this.client.client;
    this.conn!.handler = { onData: (d) => sock.write(d), onEnd: () => sock.end(), onError: () => sock.destroy() };
    if (rest.length) sock.write(rest);
    sock.removeAllListeners("data");
    sock.on("data", (d: Buffer) => up.write(d));
    sock.on("end", () => up.end());
    sock.on("close", () => up.destroy());
  }

  private retryOrFail(reason: string): void {
    const { cache } = this.client;
    cache.count(cache.metrics.upstreamErrors, this.t.rule.id, this.label, reason);
    this.releaseBackend();
    const conn = this.conn!;
    conn.handler = undefined;
    conn.socket.destroy();
    if (this.aborted || this.finished) return;
    if (!this.gotBytes && this.attempt < MAX_ATTEMPTS) {
      // A kept connection the backend had closed says nothing about the backend: the same one again.
      if (!conn.reused) this.tried.add(this.key);
      this.send();
    } else if (!this.responded) {
      this.finished = true;
      this.client.reply(502, `upstream ${this.key} of service "${this.t.rule.service}" failed: ${reason}`);
    } else {
      this.finished = true;
      this.client.client.destroy();
    }
  }
}
