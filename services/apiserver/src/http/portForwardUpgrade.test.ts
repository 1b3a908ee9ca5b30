import http from "node:http";
import net from "node:net";
import { Duplex } from "node:stream";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { PortForwardOutputSchema, type PortForwardInput, type PortForwardRequest } from "@kubelab/api";
import { createLogger } from "@kubelab/service-kit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubeletProxy } from "../server/kubeletProxy.js";
import { PortForwardUpgrades, StreamPairs, TUNNELING_PROTOCOL, checkStreamHeaders, upgradeProblem } from "./portForwardUpgrade.js";
import {
  FLAG_FIN,
  type Frame,
  FrameReader,
  FrameType,
  HeaderCompression,
  RstStatus,
  dataFrame,
  encodeHeaderBlock,
  rstStreamFrame,
} from "./spdyFraming.js";

const headers = (h: Record<string, string>) => new Map(Object.entries(h).map(([k, v]) => [k, [v]]));

describe("checkStreamHeaders", () => {
  it.each([
    [{ streamtype: "data" }, `"port" header is required`],
    [{ port: "http", streamtype: "data" }, `unable to parse "http" as a port`],
    [{ port: "65536", streamtype: "data" }, `unable to parse "65536" as a port`],
    [{ port: "0", streamtype: "data" }, `port "0" must be > 0`],
    [{ port: "80" }, `"streamType" header is required`],
    [{ port: "80", streamtype: "stdin" }, `invalid stream type "stdin"`],
  ])("rejects %o as the kubelet does: %s", (h, error) => {
    expect(checkStreamHeaders(headers(h), 1)).toEqual({ error });
  });

  it("takes the port, the stream type and the requestID", () => {
    expect(checkStreamHeaders(headers({ port: "8080", streamtype: "error", requestid: "7" }), 1)).toEqual({
      streamType: "error",
      port: 8080,
      requestId: "7",
    });
  });

  it("gives a stream without a requestID one from its id: an error stream N and its data stream N+2 match", () => {
    const error = checkStreamHeaders(headers({ port: "80", streamtype: "error" }), 5);
    const data = checkStreamHeaders(headers({ port: "80", streamtype: "data" }), 7);
    expect(error).toMatchObject({ requestId: "5" });
    expect(data).toMatchObject({ requestId: "5" });
  });
});

describe("StreamPairs", () => {
  it("completes a pair when both streams of a requestID arrived, in either order", () => {
    const pairs = new StreamPairs<string>();
    expect(pairs.add("0", "error", "e0")).toMatchObject({ created: true, complete: false });
    expect(pairs.add("1", "data", "d1")).toMatchObject({ created: true, complete: false });
    expect(pairs.add("0", "data", "d0")).toEqual({ pair: { requestId: "0", error: "e0", data: "d0" }, created: false, complete: true });
    expect(pairs.add("1", "error", "e1")).toMatchObject({ pair: { error: "e1", data: "d1" }, complete: true });
    expect([...pairs.values()]).toEqual([]);
  });

  it("refuses a second stream of the same type for a request", () => {
    const pairs = new StreamPairs<string>();
    pairs.add("0", "error", "e0");
    expect(pairs.add("0", "error", "again")).toMatchObject({
      pair: { error: "e0" },
      complete: false,
      error: "error stream already assigned",
    });
  });

  it("starts a new pair for a requestID whose pair completed", () => {
    const pairs = new StreamPairs<string>();
    pairs.add("0", "error", "e0");
    pairs.add("0", "data", "d0");
    expect(pairs.add("0", "error", "e0b")).toMatchObject({ created: true, pair: { requestId: "0", error: "e0b" } });
  });

  it("forgets an incomplete pair on delete", () => {
    const pairs = new StreamPairs<string>();
    const { pair } = pairs.add("0", "error", "e0");
    pairs.delete(pair);
    expect(pairs.add("0", "data", "d0")).toMatchObject({ created: true, complete: false });
  });
});

describe("upgradeProblem", () => {
  it("takes kubectl's WebSocket tunnel, and its SPDY fallback", () => {
    expect(
      upgradeProblem({ upgrade: "websocket", connection: "Upgrade", "sec-websocket-protocol": `v5.channel.k8s.io, ${TUNNELING_PROTOCOL}` }),
    ).toBeUndefined();
    expect(
      upgradeProblem({ upgrade: "SPDY/3.1", connection: "Upgrade", "x-stream-protocol-version": "portforward.k8s.io" }),
    ).toBeUndefined();
  });

  it("says what is missing, in Kubernetes' words", () => {
    expect(upgradeProblem({ upgrade: "websocket", connection: "Upgrade", "sec-websocket-protocol": "v4.channel.k8s.io" })).toBe(
      "unable to upgrade: no tunneling spdy protocols provided",
    );
    expect(upgradeProblem({ upgrade: "h2c", connection: "Upgrade" })).toBe("unable to upgrade: missing upgrade headers in request");
    expect(upgradeProblem({ upgrade: "SPDY/3.1", connection: "Upgrade" })).toBe("unable to upgrade: X-Stream-Protocol-Version is required");
    expect(upgradeProblem({ upgrade: "SPDY/3.1", connection: "Upgrade", "x-stream-protocol-version": "v4.channel.k8s.io" })).toBe(
      "unable to upgrade: unable to negotiate protocol: client supports [v4.channel.k8s.io], server accepts [portforward.k8s.io]",
    );
  });
});

/** A kubelet's PortForward stream, by hand: what the session writes, and what it is sent. */
class FakeUpstream extends Duplex {
  readonly written: PortForwardInput[] = [];
  cancelled = false;
  constructor() {
    super({ objectMode: true });
  }
  override _write(m: PortForwardInput, _enc: BufferEncoding, cb: () => void): void {
    this.written.push(m);
    cb();
  }
  override _read(): void {}
  cancel(): void {
    this.cancelled = true;
  }
  reply(data: string): void {
    this.push(create(PortForwardOutputSchema, { data: Buffer.from(data) }));
  }
}

/**
 * kubectl's side of a session, with this package's own framing: the upgrade, then streams opened
 * with compressed headers, and the server's frames read back.
 */
class SpdyClient {
  readonly frames: Frame[] = [];
  private readonly reader = new FrameReader(1 << 20);
  private readonly compress = new HeaderCompression("compress", 1 << 16);
  private readonly decompress = new HeaderCompression("decompress", 1 << 16);
  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (b: Buffer) => {
      this.reader.push(b);
      for (let f = this.reader.next(); f; f = this.reader.next()) this.frames.push(f);
    });
  }

  static async connect(port: number): Promise<{ client: SpdyClient; response: string }> {
    const socket = net.connect(port, "127.0.0.1");
    socket.write(
      "POST /api/v1/namespaces/default/pods/p/portforward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
        "X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n",
    );
    const response = await new Promise<string>((resolve) => {
      let head = "";
      const onData = (b: Buffer) => {
        head += b.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        socket.off("data", onData);
        resolve(head);
      };
      socket.on("data", onData);
    });
    return { client: new SpdyClient(socket), response };
  }

  async open(streamId: number, headers: Record<string, string>): Promise<void> {
    const block = await this.compress.run(encodeHeaderBlock(headers));
    const payload = Buffer.alloc(10);
    payload.writeUInt32BE(streamId, 0);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0x80030001, 0);
    head.writeUInt32BE(payload.length + block.length, 4);
    this.socket.write(Buffer.concat([head, payload, block]));
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** The server's frames so far, each as a short description, its header blocks decompressed in order. */
  async seen(): Promise<string[]> {
    const out: string[] = [];
    for (const f of this.frames) {
      if (f.kind === "data") out.push(`DATA ${f.streamId} ${JSON.stringify(f.data.toString())}${f.flags & FLAG_FIN ? " FIN" : ""}`);
      else if (f.type === FrameType.SYN_REPLY) {
        await this.decompress.run(f.payload.subarray(4));
        out.push(`SYN_REPLY ${f.payload.readUInt32BE(0)}`);
      } else if (f.type === FrameType.RST_STREAM) out.push(`RST_STREAM ${f.payload.readUInt32BE(0)} status ${f.payload.readUInt32BE(4)}`);
      else out.push(`control ${f.type}`);
    }
    return out;
  }

  close(): void {
    this.socket.destroy();
    this.compress.close();
    this.decompress.close();
  }
}

describe("a port-forward session", () => {
  let server: http.Server;
  let upgrades: PortForwardUpgrades;
  const upstreams: FakeUpstream[] = [];
  const requests: PortForwardRequest[] = [];
  let client: SpdyClient | undefined;

  beforeEach(async () => {
    upstreams.length = 0;
    requests.length = 0;
    const kubelets = {
      checkPortForward: async () => {},
      openPortForward: async (req: PortForwardRequest) => {
        requests.push(req);
        const upstream = new FakeUpstream();
        upstreams.push(upstream);
        return { upstream, node: "node-1", address: "10.0.0.1:10250" };
      },
    } as unknown as KubeletProxy;
    upgrades = new PortForwardUpgrades(
      kubelets,
      createLogger("test", () => {}),
    );
    server = http.createServer();
    server.on("upgrade", (req, socket, head) => void upgrades.upgrade(req, socket, head, "default", "p"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  });
  afterEach(async () => {
    client?.close();
    upgrades.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const connect = async () => {
    const c = await SpdyClient.connect((server.address() as net.AddressInfo).port);
    client = c.client;
    return c;
  };
  /** Opens a forwarded connection's streams as kubectl does: the error stream (closed at once), then the data stream. */
  const openPair = async (c: SpdyClient, errorId: number, requestId: string, port = "8080") => {
    await c.open(errorId, { streamtype: "error", port, requestid: requestId });
    c.send(dataFrame(errorId, Buffer.alloc(0), true));
    await c.open(errorId + 2, { streamtype: "data", port, requestid: requestId });
  };

  it("answers the upgrade as the kubelet does, relays the data stream to the kubelet's stream and back, and ends both streams after it", async () => {
    const { client: c, response } = await connect();
    expect(response).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(response).toContain("X-Stream-Protocol-Version: portforward.k8s.io\r\n");
    await openPair(c, 1, "0");
    await eventually(() => expect(upstreams).toHaveLength(1));
    expect(requests[0]).toMatchObject({ namespace: "default", name: "p", port: 8080 });
    c.send(dataFrame(3, Buffer.from("GET /")));
    await eventually(() => expect(upstreams[0]!.written.map((m) => m.input.case)).toEqual(["data"]));
    upstreams[0]!.reply("200 OK");
    upstreams[0]!.push(null);
    await eventually(async () =>
      expect(await c.seen()).toEqual(["SYN_REPLY 1", "SYN_REPLY 3", 'DATA 3 "200 OK"', 'DATA 1 "" FIN', 'DATA 3 "" FIN']),
    );
  });

  it("writes the kubelet's failure on the error stream, then ends both streams", async () => {
    const { client: c } = await connect();
    await openPair(c, 1, "0", "9999");
    await eventually(() => expect(upstreams).toHaveLength(1));
    upstreams[0]!.emit("error", Object.assign(new Error("x"), { code: grpc.status.UNAVAILABLE, details: "error forwarding port 9999" }));
    await eventually(async () =>
      expect(await c.seen()).toEqual([
        "SYN_REPLY 1",
        "SYN_REPLY 3",
        'DATA 1 "error forwarding port 9999"',
        'DATA 1 "" FIN',
        'DATA 3 "" FIN',
      ]),
    );
  });

  it("passes the client's half-close on, and cancels the kubelet's stream when the client resets the data stream", async () => {
    const { client: c } = await connect();
    await openPair(c, 1, "0");
    await eventually(() => expect(upstreams).toHaveLength(1));
    c.send(dataFrame(3, Buffer.alloc(0), true));
    await eventually(() => expect(upstreams[0]!.written.map((m) => m.input.case)).toEqual(["closeWrite"]));
    c.send(rstStreamFrame(3, RstStatus.CANCEL));
    await eventually(() => expect(upstreams[0]!.cancelled).toBe(true));
  });

  it("refuses a stream without a port, and pairs the next requests' streams on their own", async () => {
    const { client: c } = await connect();
    await c.open(1, { streamtype: "error", requestid: "0" });
    await openPair(c, 3, "1", "80");
    await openPair(c, 7, "2", "81");
    await eventually(() => expect(requests.map((r) => r.port)).toEqual([80, 81]));
    expect((await c.seen())[0]).toBe(`RST_STREAM 1 status ${RstStatus.CANCEL}`);
  });
});

/** Retries `fn` until it passes, for up to two seconds. */
async function eventually(fn: () => unknown): Promise<void> {
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      await fn();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
