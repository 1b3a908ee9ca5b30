import net from "node:net";
import { backendKey } from "./backendPool.js";
import type { Backend } from "../rules/servicePorts.js";

const MAX_IDLE_PER_BACKEND = 128;

/** What one exchange does with its upstream connection's events while it holds it. */
export interface UpstreamHandler {
  onData(d: Buffer): void;
  onEnd(): void;
  onError(e: NodeJS.ErrnoException): void;
}

/**
 * A keep-alive connection to a backend. Its listeners are set once and hand events to whoever
 * holds it; idle, any event (the backend speaking or closing) ends it. Setting listeners per
 * request would cost more than the request's own work.
 */
export class UpstreamConn {
  handler?: UpstreamHandler;
  /** Taken from the pool: the backend may have closed it meanwhile (retry on a fresh one). */
  reused = false;

  constructor(
    readonly socket: net.Socket,
    readonly backend: Backend,
    private readonly pool: UpstreamPool,
  ) {
    socket.on("data", (d: Buffer) => (this.handler ? this.handler.onData(d) : this.pool.drop(this)));
    socket.on("end", () => (this.handler ? this.handler.onEnd() : this.pool.drop(this)));
    socket.on("error", (e: NodeJS.ErrnoException) => (this.handler ? this.handler.onError(e) : this.pool.drop(this)));
    socket.on("close", () => (this.handler ? this.handler.onEnd() : this.pool.drop(this)));
  }
}

/**
 * Keep-alive connections to backends, idle ones kept per backend. A backend that leaves every
 * service has its idle connections closed; connections in use finish their request first and are
 * then closed instead of kept.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConn[]>();
  private live = new Set<string>();

  constructor(private readonly connectTimeoutMs: number) {}

  /** An idle connection to `b`, or a new one (its connect errors come to the handler). */
  take(b: Backend, handler: UpstreamHandler): UpstreamConn {
    const list = this.idle.get(backendKey(b));
    for (let c = list?.pop(); c; c = list?.pop()) {
      if (!c.socket.destroyed && c.socket.readyState === "open") {
        c.handler = handler;
        c.reused = true;
        return c;
      }
    }
    const socket = net.connect({ host: b.ip, port: b.port, noDelay: true, timeout: this.connectTimeoutMs });
    const onTimeout = () => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
    socket.once("timeout", onTimeout);
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.off("timeout", onTimeout);
    });
    const c = new UpstreamConn(socket, b, this);
    c.handler = handler;
    return c;
  }

  /** A connection whose exchange ended cleanly: kept for the next request, if the backend stays. */
  give(c: UpstreamConn): void {
    c.handler = undefined;
    const k = backendKey(c.backend);
    if (c.socket.destroyed || !this.live.has(k)) return void c.socket.destroy();
    let list = this.idle.get(k);
    if (!list) this.idle.set(k, (list = []));
    if (list.length >= MAX_IDLE_PER_BACKEND) return void c.socket.destroy();
    list.push(c);
  }

  /** Ends a connection that is no one's: out of the idle list, closed. */
  drop(c: UpstreamConn): void {
    const list = this.idle.get(backendKey(c.backend));
    const i = list ? list.indexOf(c) : -1;
    if (i >= 0) list!.splice(i, 1);
    c.socket.destroy();
  }

  /** The backends of every service now; idle connections to any other are closed. */
  retain(live: Set<string>): void {
    this.live = live;
    for (const [k, list] of this.idle) {
      if (live.has(k)) continue;
      for (const c of list) c.socket.destroy();
      this.idle.delete(k);
    }
  }

  destroy(): void {
    this.retain(new Set());
  }
}
