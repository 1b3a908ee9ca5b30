import { describe, expect, it } from "vitest";
import { DockerStreamDemuxer, type OutputChunk } from "./dockerRuntime.js";

/** One frame of Docker's multiplexed stream. */
const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

/** Feeds the bytes in the given pieces; returns the chunks, neighbours of one stream joined. */
async function demux(pieces: Buffer[]): Promise<[string, string][]> {
  const d = new DockerStreamDemuxer();
  const out: [string, string][] = [];
  d.on("data", (c: OutputChunk) => {
    const last = out.at(-1);
    if (last && last[0] === c.stream) last[1] += c.data.toString();
    else out.push([c.stream, c.data.toString()]);
  });
  const ended = new Promise((r) => d.on("end", r));
  for (const p of pieces) d.write(p);
  d.end();
  await ended;
  return out;
}

describe("DockerStreamDemuxer", () => {
  const bytes = Buffer.concat([frame(1, "hi\n"), frame(2, "err\n"), frame(1, ""), frame(1, "bye"), frame(3, "oci: no such file")]);

  it("splits stdout from stderr (Docker's own errors are stderr)", async () => {
    expect(await demux([bytes])).toEqual([
      ["stdout", "hi\n"],
      ["stderr", "err\n"],
      ["stdout", "bye"],
      ["stderr", "oci: no such file"],
    ]);
  });

  it("reads frames whatever the pieces: split headers, split payloads, a byte at a time", async () => {
    const want = await demux([bytes]);
    expect(await demux([bytes.subarray(0, 5), bytes.subarray(5, 13), bytes.subarray(13)])).toEqual(want);
    expect(await demux([...bytes].map((b) => Buffer.from([b])))).toEqual(want);
  });

  it("passes a large frame's payload on as it arrives, never held whole", async () => {
    const big = frame(1, "x".repeat(100_000));
    const d = new DockerStreamDemuxer();
    const sizes: number[] = [];
    d.on("data", (c: OutputChunk) => sizes.push(c.data.length));
    d.write(big.subarray(0, 1008));
    d.write(big.subarray(1008));
    d.end();
    await new Promise((r) => d.on("end", r));
    expect(sizes).toEqual([1000, 99_000]);
  });
});
