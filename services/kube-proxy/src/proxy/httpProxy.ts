import net from "node:net";
import { performance } from "node:perf_hooks";
import type { Counter, Histogram } from "prom-client";
import type { Backend } from "../rules/servicePorts.js";
import { backendKey } from "./backendPool.js";
import { ChunkedScanner, HttpFramingError, headEnd, parseHead, requestBody, responseBody, type BodyFraming, type Head } from "./http1.js";
import type { ProxyMetrics } from "./proxyMetrics.js";
import { noEndpointsMessage, type ServiceTarget } from "./serviceTarget.js";
import type { UpstreamPool } from "./upstreamPool.js";

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
const REASONS: Record<number, string> = { 400: "Bad Request", 431: "Request Header Fields Too Large", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 505: "HTTP Version Not Supported" };

function plainResponse(status: number, body: string, close: boolean): Buffer {
  const text = body + "\n";
  return Buffer.from(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${close ? "connection: close\r\n" : ""}\r\n${text}`,
  );
}

/** prom-client children per label set, kept: label hashing on every request costs more than the request. */
class MetricCache {
  private readonly counters = new Map<Counter<string>, Map<string, { inc(): void }>>();
  private readonly histograms = new Map<string, { observe(v: number): void }>();
  constructor(private readonly m: ProxyMetrics) {}
  count(c: Counter<string>, ...labels: string[]): void {
    let children = this.counters.get(c);
    if (!children) this.counters.set(c, (children = new Map()));
    const k = labels.join("\u0000");
    let child = children.get(k);
    if (!child) children.set(k, (child = c.labels(...labels)));
    child.inc();
  }
  observe(h: Histogram<string>, label: string, v: number): void {
    let child = this.histograms.get(label);
    if (!child) this.histograms.set(label, (child = h.labels(label)));
    child.observe(v);
  }
  get metrics(): ProxyMetrics {
    return this.m;
  }
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
    client.on("data", (d: Buffer) => this.onData(d));
    client.on("end", () => {
      this.ended = true;
      if (this.tunnel?.up) this.tunnel.up.end();
      else if (!this.busy && !this.tunnel) client.end();
    });
    client.on("error", () => client.destroy());
    client.on("close", () => {
      this.exchange?.abort();
      this.tunnel?.up?.destroy();
    });
  }

  private onData(d: Buffer): void {
    if (this.tunnel) {
      if (this.tunnel.up && !this.tunnel.up.connecting) this.tunnel.up.write(d);
      else this.tunnel.pending.push(d);
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
      if (head.upgrade || head.expectContinue || framing.kind === "chunked" || (framing.kind === "length" && framing.length > REPLAYABLE_BODY_BYTES)) {
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
      this.exchange.send(new Set(), 1);
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
      this.cache.count(this.cache.metrics.connections, t.rule.id, `${b.podName}@${backendKey(b)}`);
      for (const p of tunnel.pending) up.write(p);
      tunnel.pending = [];
      if (this.ended) up.end();
      up.pipe(this.client);
    });
    up.once("close", () => t.pool.release(b));
    up.on("error", (e: NodeJS.ErrnoException) => {
      this.cache.count(this.cache.metrics.upstreamErrors, t.rule.id, `${b.podName}@${backendKey(b)}`, e.code ?? "error");
      this.client.destroy();
    });
  }
}

/** One request and its response, over one upstream connection (or more, when it is retried). */
class Exchange {
  private up?: net.Socket;
  private backend?: Backend;
  private started = 0;
  private responded = false;
  private finished = false;
  private aborted = false;

  constructor(
    private readonly conn: ClientConnection,
    private readonly head: Head,
    private readonly request: Buffer,
  ) {}

  abort(): void {
    this.aborted = true;
    this.up?.destroy();
  }

  send(tried: Set<string>, attempt: number): void {
    const { conn } = this;
    const t = conn.target();
    const b = t?.pool.pick(conn.client.remoteAddress ?? "", tried);
    if (!t || !b) {
      if (!tried.size) conn.cache.count(conn.cache.metrics.noEndpoints, t?.rule.id ?? "");
      conn.reply(tried.size ? 502 : 503, tried.size ? `no endpoint of service "${t!.rule.service}" answered: tried ${tried.size}` : noEndpointsMessage(t?.rule.service ?? "unknown"));
      return;
    }
    const key = backendKey(b);
    const backendLabel = `${b.podName}@${key}`;
    const { socket: up, reused } = conn.deps.upstreams.take(b);
    this.up = up;
    this.backend = b;
    this.started = performance.now();
    t.pool.acquire(b);
    let released = false;
    const release = () => {
      if (!released) (released = true), t.pool.release(b);
    };

    let respBuf: Buffer = EMPTY;
    let resp: Head | undefined;
    let framing: BodyFraming = { kind: "none" };
    let remaining = 0;
    let scanner: ChunkedScanner | undefined;
    let gotBytes = false;
    const client = conn.client;

    const finish = (reusable: boolean) => {
      if (this.finished) return;
      this.finished = true;
      release();
      up.removeListener("data", onData);
      up.removeListener("end", onEnd);
      up.removeListener("error", onError);
      up.removeListener("close", onClose);
      if (reusable && !resp!.close && !this.aborted) conn.deps.upstreams.give(b, up);
      else up.destroy();
      conn.cache.count(conn.cache.metrics.requests, t.rule.id, backendLabel, String(resp!.status));
      conn.cache.observe(conn.cache.metrics.latency, t.rule.id, (performance.now() - this.started) / 1000);
      conn.done(resp!.close || framing.kind === "until-close");
    };

    const consume = (d: Buffer) => {
      let data = d;
      while (data.length && !this.finished) {
        if (!resp) {
          respBuf = respBuf.length ? Buffer.concat([respBuf, data]) : data;
          data = EMPTY;
          const end = headEnd(respBuf);
          if (end < 0) return;
          const h = parseHead(respBuf, end, "response");
          const headBytes = respBuf.subarray(0, end);
          data = respBuf.subarray(end);
          respBuf = EMPTY;
          this.responded = true;
          client.write(headBytes);
          if (h.status >= 100 && h.status < 200 && h.status !== 101) continue; // interim: the final head follows
          resp = h;
          if (h.status === 101) {
            // Switched protocols: both sides are a byte stream from here on.
            release();
            up.removeListener("data", onData);
            if (data.length) client.write(data);
            up.pipe(client);
            client.removeAllListeners("data");
            client.pipe(up);
            return;
          }
          framing = responseBody(h, this.head.method);
          if (framing.kind === "length") remaining = framing.length;
          else if (framing.kind === "chunked") scanner = new ChunkedScanner();
          if (framing.kind === "none" || (framing.kind === "length" && remaining === 0)) return finish(data.length === 0);
        } else if (framing.kind === "length") {
          const take = Math.min(remaining, data.length);
          client.write(take === data.length ? data : data.subarray(0, take));
          remaining -= take;
          data = data.subarray(take);
          if (remaining === 0) return finish(data.length === 0);
        } else if (framing.kind === "chunked") {
          const e = scanner!.feed(data);
          if (e < 0) {
            client.write(data);
            data = EMPTY;
          } else {
            client.write(data.subarray(0, e));
            return finish(e === data.length);
          }
        } else {
          client.write(data);
          data = EMPTY;
        }
      }
    };

    const retryOrFail = (reason: string) => {
      conn.cache.count(conn.cache.metrics.upstreamErrors, t.rule.id, backendLabel, reason);
      release();
      up.destroy();
      if (this.aborted || this.finished) return;
      if (!gotBytes && attempt < MAX_ATTEMPTS) {
        // A kept connection the backend had closed says nothing about the backend: same one again.
        if (!reused) tried.add(key);
        this.send(tried, attempt + 1);
      } else if (!this.responded) {
        conn.reply(502, `upstream ${key} of service "${t.rule.service}" failed: ${reason}`);
      } else client.destroy();
    };

    const onData = (d: Buffer) => {
      gotBytes = true;
      client.cork();
      try {
        consume(d);
      } catch (e) {
        if (e instanceof HttpFramingError && !this.responded) {
          this.finished = true;
          release();
          up.destroy();
          conn.cache.count(conn.cache.metrics.upstreamErrors, t.rule.id, backendLabel, "bad response");
          conn.reply(502, `upstream ${key} of service "${t.rule.service}" sent a malformed response: ${e.message}`);
        } else {
          up.destroy();
          client.destroy();
        }
      } finally {
        client.uncork();
      }
      if (client.writableNeedDrain && !up.isPaused()) {
        up.pause();
        client.once("drain", () => up.resume());
      }
    };
    const onEnd = () => {
      if (this.finished) return;
      if (resp && framing.kind === "until-close") finish(false);
      else if (resp) client.destroy(); // cut off mid-body
      else retryOrFail("closed before answering");
    };
    const onError = (e: NodeJS.ErrnoException) => {
      if (!this.finished) retryOrFail(e.code ?? "error");
    };
    const onClose = () => {
      if (!this.finished) onEnd();
    };
    up.on("data", onData);
    up.on("end", onEnd);
    up.on("error", onError);
    up.on("close", onClose);
    up.write(this.request);
  }
}
