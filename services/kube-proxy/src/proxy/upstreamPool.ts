import net from "node:net";
import { backendKey } from "./backendPool.js";
import type { Backend } from "../rules/servicePorts.js";

const MAX_IDLE_PER_BACKEND = 128;

export interface Upstream {
  socket: net.Socket;
  /** Taken from the pool: it may have been closed by the backend meanwhile (retry on a fresh one). */
  reused: boolean;
}

/**
 * Keep-alive connections to backends, idle ones kept per backend. A backend that leaves every
 * service has its idle connections closed; connections in use finish their request first and are
 * then closed instead of kept.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, net.Socket[]>();
  private live = new Set<string>();

  constructor(private readonly connectTimeoutMs: number) {}

  /** An idle connection to `b`, or a new one (its connect errors come as the socket's "error"). */
  take(b: Backend): Upstream {
    const list = this.idle.get(backendKey(b));
    for (let s = list?.pop(); s; s = list?.pop()) {
      if (!s.destroyed && s.readyState === "open") {
        s.removeAllListeners("close");
        s.removeAllListeners("error");
        s.removeAllListeners("data");
        return { socket: s, reused: true };
      }
    }
    const socket = net.connect({ host: b.ip, port: b.port, noDelay: true, timeout: this.connectTimeoutMs });
    const onTimeout = () => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" }));
    socket.once("timeout", onTimeout);
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.off("timeout", onTimeout);
    });
    return { socket, reused: false };
  }

  /** A connection whose exchange ended cleanly: kept for the next request, if the backend stays. */
  give(b: Backend, s: net.Socket): void {
    const k = backendKey(b);
    if (s.destroyed || !this.live.has(k)) return void s.destroy();
    let list = this.idle.get(k);
    if (!list) this.idle.set(k, (list = []));
    if (list.length >= MAX_IDLE_PER_BACKEND) return void s.destroy();
    s.removeAllListeners("data");
    s.removeAllListeners("end");
    s.removeAllListeners("error");
    s.removeAllListeners("close");
    const drop = () => {
      const i = list!.indexOf(s);
      if (i >= 0) list!.splice(i, 1);
      s.destroy();
    };
    // An idle connection that speaks or closes is done with.
    s.on("data", drop);
    s.on("error", drop);
    s.on("close", drop);
    list.push(s);
  }

  /** The backends of every service now; idle connections to any other are closed. */
  retain(live: Set<string>): void {
    this.live = live;
    for (const [k, list] of this.idle) {
      if (live.has(k)) continue;
      for (const s of list) s.destroy();
      this.idle.delete(k);
    }
  }

  destroy(): void {
    this.retain(new Set());
  }
}
