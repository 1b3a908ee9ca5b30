/**
 * Just enough HTTP/1.1 framing (RFC 9112) for a balancer that forwards each message's bytes as
 * they are: where a head ends, how long the body is, whether the connection stays open. Node's
 * http module and undici parse every header into objects for every request, which made a proxy
 * built on them far slower than one that forwards bytes (figures: bench/RESULTS.md, proxy). No
 * library frames messages without building them, so this does, by hand.
 */

const CRLFCRLF = Buffer.from("\r\n\r\n");
export const MAX_HEAD_BYTES = 64 * 1024;

export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "until-close" };

export interface Head {
  /** Bytes of the head, the blank line included. */
  size: number;
  method: string;
  status: number;
  http10: boolean;
  contentLength?: number;
  chunked: boolean;
  /** "Connection: close", or HTTP/1.0 without "Connection: keep-alive". */
  close: boolean;
  /** "Connection: upgrade" with an Upgrade header. */
  upgrade: boolean;
  expectContinue: boolean;
}

export class HttpFramingError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Where the head in `buf` ends (after its blank line), or -1 while it is incomplete. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf(CRLFCRLF);
  if (i >= 0) return i + 4;
  if (buf.length > MAX_HEAD_BYTES) throw new HttpFramingError("request head too large", 431);
  return -1;
}

const CRLF = Buffer.from("\r\n");
const tokens = (v: string) => {
  const lower = v.toLowerCase();
  return lower.includes(",") ? lower.split(",").map((t) => t.trim()) : [lower];
};

/**
 * Parses the head of `buf` (ending at `size`) as a request or a response. Only the start line and
 * the headers that frame the body become strings; the others are checked for a colon and passed
 * over in the buffer.
 */
export function parseHead(buf: Buffer, size: number, kind: "request" | "response"): Head {
  const bad = kind === "request" ? 400 : 502;
  const firstEnd = buf.indexOf(CRLF);
  const start = buf.toString("latin1", 0, firstEnd);
  const head: Head = { size, method: "", status: 0, http10: false, chunked: false, close: false, upgrade: false, expectContinue: false };
  let version: string;
  if (kind === "request") {
    const sp1 = start.indexOf(" ");
    const sp2 = start.lastIndexOf(" ");
    if (sp1 <= 0 || sp2 <= sp1) throw new HttpFramingError(`malformed request line: ${JSON.stringify(start.slice(0, 100))}`);
    head.method = start.slice(0, sp1);
    version = start.slice(sp2 + 1);
  } else {
    version = start.slice(0, 8);
    head.status = Number(start.slice(9, 12));
    if (!(head.status >= 100 && head.status <= 999))
      throw new HttpFramingError(`malformed status line: ${JSON.stringify(start.slice(0, 100))}`, 502);
  }
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0")
    throw new HttpFramingError(`unsupported HTTP version ${JSON.stringify(version)}`, 505);
  head.http10 = version === "HTTP/1.0";
  let keepAlive = false;
  let upgradeHeader = false;
  let connectionUpgrade = false;
  const blank = size - 2;
  for (let pos = firstEnd + 2; pos < blank; ) {
    const eol = buf.indexOf(CRLF, pos);
    const colon = buf.indexOf(0x3a, pos);
    if (colon <= pos || colon > eol)
      throw new HttpFramingError(`malformed header line: ${JSON.stringify(buf.toString("latin1", pos, Math.min(eol, pos + 100)))}`, bad);
    // Only these headers decide framing (c, t, u, e: their first letters); the rest pass unread.
    const c = buf[pos]! | 0x20;
    if (c === 0x63 || c === 0x74 || c === 0x75 || c === 0x65) {
      const name = buf.toString("latin1", pos, colon).toLowerCase();
      const value =
        name === "content-length" || name === "transfer-encoding" || name === "connection" || name === "upgrade" || name === "expect"
          ? buf.toString("latin1", colon + 1, eol).trim()
          : "";
      if (name === "content-length") {
        if (!/^\d+$/.test(value)) throw new HttpFramingError(`invalid Content-Length ${JSON.stringify(value)}`, bad);
        const n = Number(value);
        if (head.contentLength !== undefined && head.contentLength !== n)
          throw new HttpFramingError("conflicting Content-Length headers", bad);
        head.contentLength = n;
      } else if (name === "transfer-encoding") {
        if (tokens(value).at(-1) !== "chunked")
          throw new HttpFramingError(`unsupported Transfer-Encoding ${JSON.stringify(value)}`, kind === "request" ? 501 : 502);
        head.chunked = true;
      } else if (name === "connection") {
        for (const t of tokens(value)) {
          if (t === "close") head.close = true;
          else if (t === "keep-alive") keepAlive = true;
          else if (t === "upgrade") connectionUpgrade = true;
        }
      } else if (name === "upgrade") {
        upgradeHeader = true;
      } else if (name === "expect") {
        head.expectContinue = value.toLowerCase() === "100-continue";
      }
    }
    pos = eol + 2;
  }
  // Both framings at once is how requests are smuggled past a proxy: refused (RFC 9112 §6.1).
  if (head.chunked && head.contentLength !== undefined) throw new HttpFramingError("both Transfer-Encoding and Content-Length", bad);
  if (head.http10 && !keepAlive) head.close = true;
  head.upgrade = connectionUpgrade && upgradeHeader;
  return head;
}

/** A request's body framing (RFC 9112 §6.3): no length means no body. */
export function requestBody(h: Head): BodyFraming {
  if (h.chunked) return { kind: "chunked" };
  if (h.contentLength) return { kind: "length", length: h.contentLength };
  return { kind: "none" };
}

/** A response's body framing, which depends on the request it answers. */
export function responseBody(h: Head, requestMethod: string): BodyFraming {
  if (requestMethod === "HEAD" || (h.status >= 100 && h.status < 200) || h.status === 204 || h.status === 304) return { kind: "none" };
  if (h.chunked) return { kind: "chunked" };
  if (h.contentLength !== undefined) return { kind: "length", length: h.contentLength };
  return { kind: "until-close" };
}

/**
 * Follows a chunked body through its bytes to find where it ends (after the last chunk and any
 * trailers), without decoding it.
 */
export class ChunkedScanner {
  private state: "size" | "ext" | "size-lf" | "data" | "data-cr" | "data-lf" | "trailer-start" | "trailer" | "trailer-lf" | "end-lf" =
    "size";
  private size = 0;
  private digits = 0;
  private remaining = 0;

  /** Feeds bytes from `from`; returns the index just past the body's end, or -1 if it goes on. */
  feed(buf: Buffer, from = 0): number {
    let i = from;
    while (i < buf.length) {
      const b = buf[i]!;
      switch (this.state) {
        case "size": {
          const d = b >= 0x30 && b <= 0x39 ? b - 0x30 : (b | 0x20) >= 0x61 && (b | 0x20) <= 0x66 ? (b | 0x20) - 0x57 : -1;
          if (d >= 0) {
            if (++this.digits > 15) throw new HttpFramingError("chunk size too large");
            this.size = this.size * 16 + d;
          } else if (b === 0x3b || b === 0x20 || b === 0x09) this.state = "ext";
          else if (b === 0x0d && this.digits > 0) this.state = "size-lf";
          else throw new HttpFramingError("malformed chunk size");
          i++;
          break;
        }
        case "ext":
          if (b === 0x0d) this.state = "size-lf";
          i++;
          break;
        case "size-lf":
          if (b !== 0x0a) throw new HttpFramingError("malformed chunk size line");
          i++;
          if (this.size === 0) this.state = "trailer-start";
          else {
            this.remaining = this.size;
            this.state = "data";
          }
          this.size = 0;
          this.digits = 0;
          break;
        case "data": {
          const take = Math.min(this.remaining, buf.length - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = "data-cr";
          break;
        }
        case "data-cr":
          if (b !== 0x0d) throw new HttpFramingError("chunk data longer than its size");
          this.state = "data-lf";
          i++;
          break;
        case "data-lf":
          if (b !== 0x0a) throw new HttpFramingError("malformed chunk end");
          this.state = "size";
          i++;
          break;
        case "trailer-start":
          i++;
          if (b === 0x0d) this.state = "end-lf";
          else this.state = "trailer";
          break;
        case "trailer":
          if (b === 0x0d) this.state = "trailer-lf";
          i++;
          break;
        case "trailer-lf":
          if (b !== 0x0a) throw new HttpFramingError("malformed trailer");
          this.state = "trailer-start";
          i++;
          break;
        case "end-lf":
          if (b !== 0x0a) throw new HttpFramingError("malformed end of chunked body");
          return i + 1;
      }
    }
    return -1;
  }
}
