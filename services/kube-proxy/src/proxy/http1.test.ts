import { describe, expect, it } from "vitest";
import { ChunkedScanner, headEnd, parseHead, requestBody, responseBody } from "./http1.js";

const b = (s: string) => Buffer.from(s, "latin1");

describe("HTTP/1.1 framing", () => {
  it("finds the end of a head and reads the headers that frame the body", () => {
    const req = b("POST /x HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello");
    const end = headEnd(req);
    expect(req.subarray(end).toString()).toBe("hello");
    const h = parseHead(req, end, "request");
    expect(h).toMatchObject({ method: "POST", contentLength: 5, close: false, chunked: false });
    expect(requestBody(h)).toEqual({ kind: "length", length: 5 });
    expect(headEnd(b("GET / HTTP/1.1\r\nHost: a\r\n"))).toBe(-1);
  });

  it("closes HTTP/1.0 unless asked to keep alive, and sees upgrades and 100-continue", () => {
    const h10 = b("GET / HTTP/1.0\r\n\r\n");
    expect(parseHead(h10, headEnd(h10), "request").close).toBe(true);
    const ka = b("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    expect(parseHead(ka, headEnd(ka), "request").close).toBe(false);
    const up = b("GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n");
    expect(parseHead(up, headEnd(up), "request")).toMatchObject({ upgrade: true, expectContinue: true });
  });

  it("refuses heads that could be read two ways", () => {
    const both = b("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect(() => parseHead(both, headEnd(both), "request")).toThrow("both Transfer-Encoding and Content-Length");
    const two = b("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
    expect(() => parseHead(two, headEnd(two), "request")).toThrow("conflicting Content-Length headers");
    const bad = b("GET / HTTP/2.0\r\n\r\n");
    expect(() => parseHead(bad, headEnd(bad), "request")).toThrow('unsupported HTTP version "HTTP/2.0"');
  });

  it("frames responses by status, method, length, chunks or the connection's end", () => {
    const r = (s: string) => parseHead(b(s), headEnd(b(s)), "response");
    expect(responseBody(r("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), "GET")).toEqual({ kind: "length", length: 10 });
    expect(responseBody(r("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), "HEAD")).toEqual({ kind: "none" });
    expect(responseBody(r("HTTP/1.1 304 Not Modified\r\n\r\n"), "GET")).toEqual({ kind: "none" });
    expect(responseBody(r("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), "GET")).toEqual({ kind: "chunked" });
    expect(responseBody(r("HTTP/1.0 200 OK\r\n\r\n"), "GET")).toEqual({ kind: "until-close" });
  });

  it("follows a chunked body with extensions and trailers across any split", () => {
    const body = "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";
    const end = body.indexOf("NEXT");
    for (let cut = 0; cut <= body.length; cut++) {
      const s = new ChunkedScanner();
      const first = s.feed(b(body.slice(0, cut)));
      if (first >= 0) {
        expect(first).toBe(end);
        continue;
      }
      expect(s.feed(b(body.slice(cut)))).toBe(end - cut);
    }
    expect(() => new ChunkedScanner().feed(b("zz\r\n"))).toThrow("malformed chunk size");
  });
});
