import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  FLAG_FIN,
  FrameReader,
  FrameType,
  HeaderCompression,
  SPDY3_DICTIONARY,
  SpdyProtocolError,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  parseRstStream,
  parseSynStream,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
} from "./spdyFraming.js";

/** A SYN_STREAM as spdystream writes one: control bit, version 3, type 1, then id, associated id, priority, slot. */
function synStream(streamId: number, headerBlock: Buffer, flags = 0): Buffer {
  const payload = Buffer.alloc(10);
  payload.writeUInt32BE(streamId, 0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(0x80030001, 0);
  head.writeUInt32BE(((flags << 24) | (payload.length + headerBlock.length)) >>> 0, 4);
  return Buffer.concat([head, payload, headerBlock]);
}

describe("the SPDY/3 header dictionary", () => {
  it("is the 1423 bytes whose zlib dictionary id spdystream's reader checks (0xe3c6a7c2)", () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    // A zlib stream with a preset dictionary carries its Adler-32 after the two header bytes.
    const compressed = zlib.deflateSync(Buffer.from("x"), { dictionary: SPDY3_DICTIONARY });
    expect(compressed.readUInt32BE(2)).toBe(0xe3c6a7c2);
  });
});

describe("FrameReader", () => {
  it("cuts frames out of chunks that split them anywhere", () => {
    const bytes = Buffer.concat([synStream(1, Buffer.from("hdrs")), dataFrame(1, Buffer.from("hello"), true), pingFrame(7)]);
    const reader = new FrameReader(1024);
    const frames = [];
    for (const b of bytes) {
      reader.push(Buffer.from([b]));
      for (let f = reader.next(); f; f = reader.next()) frames.push(f);
    }
    expect(frames).toHaveLength(3);
    expect(frames[0]).toMatchObject({ kind: "control", version: 3, type: FrameType.SYN_STREAM, flags: 0 });
    expect(parseSynStream((frames[0] as { payload: Buffer }).payload)).toMatchObject({ streamId: 1, headerBlock: Buffer.from("hdrs") });
    expect(frames[1]).toEqual({ kind: "data", streamId: 1, flags: FLAG_FIN, data: Buffer.from("hello") });
    expect(frames[2]).toMatchObject({ kind: "control", type: FrameType.PING, payload: Buffer.from([0, 0, 0, 7]) });
  });

  it("refuses a frame longer than its limit instead of buffering it", () => {
    const reader = new FrameReader(4);
    reader.push(dataFrame(1, Buffer.alloc(5)));
    expect(() => reader.next()).toThrow(SpdyProtocolError);
  });
});

describe("frames the server writes", () => {
  it("lays out SYN_REPLY, RST_STREAM, PING and DATA as SPDY/3 does", () => {
    expect(synReplyFrame(3, Buffer.from([0xaa]))).toEqual(Buffer.from([0x80, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0, 0, 0, 3, 0xaa]));
    const rst = rstStreamFrame(5, 3);
    expect(rst.subarray(0, 8)).toEqual(Buffer.from([0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08]));
    expect(parseRstStream(rst.subarray(8))).toEqual({ streamId: 5, status: 3 });
    expect(pingFrame(1)).toEqual(Buffer.from([0x80, 0x03, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1]));
    expect(dataFrame(1, Buffer.alloc(0), true)).toEqual(Buffer.from([0, 0, 0, 1, 0x01, 0, 0, 0]));
  });
});

describe("header blocks", () => {
  it("encode and decode names in lower case, several values split on NUL", () => {
    const block = encodeHeaderBlock({ streamType: "data", port: "8080", requestID: "0" });
    expect(decodeHeaderBlock(block)).toEqual(
      new Map([
        ["streamtype", ["data"]],
        ["port", ["8080"]],
        ["requestid", ["0"]],
      ]),
    );
    expect(decodeHeaderBlock(encodeHeaderBlock({ accept: "a\0b" })).get("accept")).toEqual(["a", "b"]);
  });

  it("refuses a block that ends inside a name", () => {
    expect(() => decodeHeaderBlock(encodeHeaderBlock({ port: "80" }).subarray(0, 9))).toThrow(SpdyProtocolError);
  });

  it("go through one zlib stream per direction, each block readable once flushed", async () => {
    const compress = new HeaderCompression("compress", 1024);
    const decompress = new HeaderCompression("decompress", 1024);
    try {
      for (const requestID of ["0", "1", "2"]) {
        const block = encodeHeaderBlock({ streamtype: "error", port: "80", requestid: requestID });
        const compressed = await compress.run(block);
        expect(await decompress.run(compressed)).toEqual(block);
      }
    } finally {
      compress.close();
      decompress.close();
    }
  });

  it("refuse a block that decompresses past the limit", async () => {
    const compress = new HeaderCompression("compress", 1 << 20);
    const decompress = new HeaderCompression("decompress", 1000);
    try {
      const big = await compress.run(encodeHeaderBlock({ filler: "x".repeat(5000) }));
      await expect(decompress.run(big)).rejects.toThrow(SpdyProtocolError);
    } finally {
      compress.close();
      decompress.close();
    }
  });
});
