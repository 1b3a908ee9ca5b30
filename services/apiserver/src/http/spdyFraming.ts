import zlib from "node:zlib";

/*
 * The part of SPDY/3.1 (https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/) that
 * kubectl's port-forward speaks, as the server side of github.com/moby/spdystream (the SPDY
 * library of client-go and the kubelet) uses it: SYN_STREAM, SYN_REPLY, DATA, RST_STREAM, PING
 * and GOAWAY, header blocks compressed with zlib and SPDY's dictionary, and no flow control.
 *
 * Hand-written rather than taken from spdy-transport (npm), the one SPDY library for Node, because
 * that library cannot serve spdystream: its parser rejects a SYN_STREAM without ":method" and
 * ":path" (kubectl's streams carry only streamtype, port and requestid), and it enforces SPDY/3's
 * 64 KiB per-stream send window, which spdystream never opens with a WINDOW_UPDATE, so a
 * response longer than 64 KiB would stall. It is also unmaintained since 2018.
 */

export const SPDY_VERSION = 3;

/** Control frame types (section 2.6). */
export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** FLAG_FIN on DATA, SYN_STREAM and SYN_REPLY: the sender will send nothing more on the stream. */
export const FLAG_FIN = 0x01;

/** RST_STREAM status codes (section 2.6.3). */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
} as const;

/** GOAWAY status codes (section 2.6.6). */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

const FRAME_HEADER_BYTES = 8;

/** A peer broke the protocol: the session answers with GOAWAY PROTOCOL_ERROR and ends. */
export class SpdyProtocolError extends Error {}

export type Frame =
  | { kind: "data"; streamId: number; flags: number; data: Buffer }
  | { kind: "control"; version: number; type: number; flags: number; payload: Buffer };

/**
 * Cuts a byte stream into frames. Holds at most one frame's bytes (and what arrived after it): a
 * frame longer than `maxFrameBytes` is a protocol error rather than a buffer without bound.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** The next whole frame, or undefined until more bytes arrive. */
  next(): Frame | undefined {
    if (this.bufferedBytes < FRAME_HEADER_BYTES) return undefined;
    const head = this.peek(FRAME_HEADER_BYTES);
    const length = head.readUIntBE(5, 3);
    if (length > this.maxFrameBytes) throw new SpdyProtocolError(`a frame of ${length} bytes is over the limit of ${this.maxFrameBytes}`);
    if (this.bufferedBytes < FRAME_HEADER_BYTES + length) return undefined;
    const bytes = this.take(FRAME_HEADER_BYTES + length);
    const first = bytes.readUInt32BE(0);
    const flags = bytes[4]!;
    const body = bytes.subarray(FRAME_HEADER_BYTES);
    if (first & 0x80000000) return { kind: "control", version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload: body };
    return { kind: "data", streamId: first & 0x7fffffff, flags, data: body };
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.bufferedBytes = rest.length;
    return all.subarray(0, n);
  }
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new SpdyProtocolError(`a ${what} frame of ${payload.length} bytes is too short`);
}

/** SYN_STREAM's fixed fields; its header block is still compressed. */
export function parseSynStream(payload: Buffer): { streamId: number; associatedStreamId: number; headerBlock: Buffer } {
  need(payload, 10, "SYN_STREAM");
  return {
    streamId: payload.readUInt32BE(0) & 0x7fffffff,
    associatedStreamId: payload.readUInt32BE(4) & 0x7fffffff,
    headerBlock: payload.subarray(10),
  };
}

/** HEADERS: the stream and its (compressed) header block. */
export function parseHeaders(payload: Buffer): { streamId: number; headerBlock: Buffer } {
  need(payload, 4, "HEADERS");
  return { streamId: payload.readUInt32BE(0) & 0x7fffffff, headerBlock: payload.subarray(4) };
}

export function parseRstStream(payload: Buffer): { streamId: number; status: number } {
  need(payload, 8, "RST_STREAM");
  return { streamId: payload.readUInt32BE(0) & 0x7fffffff, status: payload.readUInt32BE(4) };
}

export function parsePing(payload: Buffer): number {
  need(payload, 4, "PING");
  return payload.readUInt32BE(0);
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  head.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  head.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([head, payload]);
}

/** A DATA frame. Each frame is one buffer, written at once: spdystream reads a frame's header block in one go. */
export function dataFrame(streamId: number, data: Uint8Array, fin = false): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + data.length);
  frame.writeUInt32BE(streamId & 0x7fffffff, 0);
  frame.writeUInt32BE((((fin ? FLAG_FIN : 0) << 24) | data.length) >>> 0, 4);
  frame.set(data, FRAME_HEADER_BYTES);
  return frame;
}

export function synReplyFrame(streamId: number, compressedHeaders: Buffer, fin = false): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(streamId & 0x7fffffff, 0);
  return controlFrame(FrameType.SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([id, compressedHeaders]));
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(streamId & 0x7fffffff, 0);
  payload.writeUInt32BE(status, 4);
  return controlFrame(FrameType.RST_STREAM, 0, payload);
}

export function pingFrame(id: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(id >>> 0, 0);
  return controlFrame(FrameType.PING, 0, payload);
}

export function goAwayFrame(lastGoodStreamId: number, status: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  payload.writeUInt32BE(status, 4);
  return controlFrame(FrameType.GOAWAY, 0, payload);
}

/** A header block's names (lower case, as SPDY requires) to their values. */
export type HeaderMap = Map<string, string[]>;

/**
 * Decodes an uncompressed header block (section 2.6.10): a count, then each name and value with a
 * 32-bit length; a value of several values separates them with NUL.
 */
export function decodeHeaderBlock(block: Buffer): HeaderMap {
  const headers: HeaderMap = new Map();
  let offset = 0;
  const readString = () => {
    if (block.length < offset + 4) throw new SpdyProtocolError("a header block ends inside a length");
    const length = block.readUInt32BE(offset);
    offset += 4;
    if (block.length < offset + length) throw new SpdyProtocolError("a header block ends inside a name or value");
    const s = block.toString("utf8", offset, offset + length);
    offset += length;
    return s;
  };
  if (block.length < 4) throw new SpdyProtocolError("a header block has no count");
  const count = block.readUInt32BE(0);
  offset = 4;
  for (let i = 0; i < count; i++) {
    const name = readString().toLowerCase();
    const values = readString().split("\0");
    headers.set(name, [...(headers.get(name) ?? []), ...values]);
  }
  return headers;
}

export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(Object.keys(headers).length, 0);
  parts.push(count);
  for (const [name, value] of Object.entries(headers)) {
    for (const s of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(s, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length, 0);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** The words SPDY/3 primes its header compression with (section 2.6.10.1), each with a 32-bit length. */
const DICTIONARY_WORDS = [
  "options",
  "head",
  "post",
  "put",
  "delete",
  "trace",
  "accept",
  "accept-charset",
  "accept-encoding",
  "accept-language",
  "accept-ranges",
  "age",
  "allow",
  "authorization",
  "cache-control",
  "connection",
  "content-base",
  "content-encoding",
  "content-language",
  "content-length",
  "content-location",
  "content-md5",
  "content-range",
  "content-type",
  "date",
  "etag",
  "expect",
  "expires",
  "from",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "pragma",
  "proxy-authenticate",
  "proxy-authorization",
  "range",
  "referer",
  "retry-after",
  "server",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "vary",
  "via",
  "warning",
  "www-authenticate",
  "method",
  "get",
  "status",
  "200 OK",
  "version",
  "HTTP/1.1",
  "url",
  "public",
  "set-cookie",
  "keep-alive",
  "origin",
];
/** The dictionary's tail, after the words: status lines, dates and common values, without lengths. */
const DICTIONARY_TAIL =
  "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
  "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
  "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
  "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
  "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
  "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

/** SPDY/3's zlib dictionary (1423 bytes; zlib's dictionary id for it is 0xe3c6a7c2). */
export const SPDY3_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((w) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(w.length, 0);
    return [length, Buffer.from(w, "latin1")];
  }),
  Buffer.from(DICTIONARY_TAIL, "latin1"),
]);

/**
 * One direction's header compression: SPDY compresses every header block of a session with one
 * zlib stream (a block ends with a sync flush), so blocks go through it one at a time, in the
 * order their frames are read or written. Written as ws's permessage-deflate uses node:zlib:
 * write, flush, and collect the output the flush produced.
 */
export class HeaderCompression {
  private readonly z: zlib.Deflate | zlib.Inflate;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    direction: "compress" | "decompress",
    private readonly maxOutputBytes: number,
  ) {
    this.z =
      direction === "compress"
        ? zlib.createDeflate({ dictionary: SPDY3_DICTIONARY })
        : zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
    // Errors reach the block in progress through its own listener; this one keeps a late one from crashing the process.
    this.z.on("error", () => {});
  }

  /** The block, through the session's zlib stream; rejects on corrupt input or output over the limit. */
  run(block: Buffer): Promise<Buffer> {
    const result = this.queue.then(() => this.flushThrough(block));
    this.queue = result.catch(() => {});
    return result;
  }

  close(): void {
    this.z.close();
  }

  private flushThrough(block: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let failed = false;
      const onData = (c: Buffer) => {
        bytes += c.length;
        if (bytes > this.maxOutputBytes) fail(new SpdyProtocolError(`a header block is over ${this.maxOutputBytes} bytes`));
        else chunks.push(c);
      };
      const onError = (e: Error) => fail(new SpdyProtocolError(`header compression: ${e.message}`));
      const cleanup = () => {
        this.z.off("data", onData);
        this.z.off("error", onError);
      };
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        cleanup();
        reject(e);
      };
      this.z.on("data", onData);
      this.z.on("error", onError);
      this.z.write(block);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (failed) return;
        cleanup();
        resolve(Buffer.concat(chunks));
      });
    });
  }
}
