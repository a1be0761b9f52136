/**
 * The HTTP/1.1 response parser on byte strings: framing (content-length, chunked, until close, no
 * body), interim answers, keep-alive, header shapes, every way a server can get it wrong, and the
 * same result however the bytes are cut into reads.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { H1Error } from "../../../src/transport/h1/errors.ts";
import { ResponseParseError, ResponseParser, type ResponseHead } from "../../../src/transport/h1/response-parser.ts";

interface Parsed {
  heads: ResponseHead[];
  /** Every onData buffer, in order. */
  data: Buffer[];
  ends: number;
  /** What the parser saw at each event, in order ("head", "data", "end"). */
  order: string[];
}

function recorder(maxHeadBytes?: number): { parser: ResponseParser; out: Parsed } {
  const out: Parsed = { heads: [], data: [], ends: 0, order: [] };
  const events = {
    onHead: (h: ResponseHead) => {
      out.heads.push(h);
      out.order.push("head");
    },
    onData: (chunk: Buffer) => {
      // A copy: the parser may hand out a view of the caller's buffer.
      out.data.push(Buffer.from(chunk));
      out.order.push("data");
    },
    onEnd: () => {
      out.ends++;
      out.order.push("end");
    },
  };
  const parser = maxHeadBytes === undefined ? new ResponseParser(events) : new ResponseParser(events, maxHeadBytes);
  return { parser, out };
}

/** Parses `pieces` (one execute each) as the answer to a request (`head`: a HEAD request). */
function parse(pieces: (string | Buffer)[], head = false): Parsed & { parser: ResponseParser } {
  const { parser, out } = recorder();
  parser.reset(head);
  for (const p of pieces) parser.execute(typeof p === "string" ? Buffer.from(p, "latin1") : p);
  // The recorder itself (not a copy), so later execute() calls show in it.
  return Object.assign(out, { parser });
}

const body = (p: Parsed): string => Buffer.concat(p.data).toString("latin1");

function isParseError(err: unknown): boolean {
  assert.ok(err instanceof ResponseParseError, `expected a ResponseParseError, got ${String(err)}`);
  assert.ok(err instanceof H1Error);
  assert.equal(err.code, "KP_H1_PARSE");
  return true;
}

/** Every way of cutting `buf` at one position, plus byte-by-byte. */
function splits(buf: Buffer): Buffer[][] {
  const all: Buffer[][] = [[...buf].map((b) => Buffer.from([b]))];
  for (let i = 1; i < buf.length; i++) all.push([buf.subarray(0, i), buf.subarray(i)]);
  return all;
}

describe("response parser: framing", () => {
  it("reads a content-length body and ends with it", () => {
    const p = parse(["HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"]);
    assert.equal(p.heads.length, 1);
    assert.equal(p.heads[0]!.status, 200);
    assert.equal(p.heads[0]!.keepAlive, true);
    assert.equal(p.heads[0]!.keepAliveMs, null);
    assert.equal(p.heads[0]!.headers["content-type"], "application/json");
    assert.equal(body(p), '{"ok":true}');
    assert.equal(p.ends, 1);
    assert.deepEqual(p.order, ["head", "data", "end"]);
    assert.equal(p.parser.done, true);
  });

  it("does not end a content-length body before its last byte", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345", "6789"]);
    assert.equal(body(p), "123456789");
    assert.equal(p.ends, 0);
    assert.equal(p.parser.done, false);
    p.parser.execute(Buffer.from("0"));
    assert.equal(body(p), "1234567890");
    assert.equal(p.ends, 1);
  });

  it("removes chunked framing, chunk extensions and trailers", () => {
    const p = parse(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1 ; x=\"y\"\r\n \r\nA\r\n0123456789\r\n0;last\r\nx-trailer: 1\r\nother-trailer: 2\r\n\r\n"]);
    assert.equal(p.heads[0]!.status, 200);
    assert.equal(p.heads[0]!.keepAlive, true);
    assert.equal(body(p), "hello 0123456789");
    assert.equal(p.ends, 1);
    assert.equal(p.parser.done, true);
  });

  it("reads chunk sizes in either case and with leading zeros", () => {
    const p = parse([`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0000a\r\n${"x".repeat(10)}\r\n1A\r\n${"y".repeat(26)}\r\n000\r\n\r\n`]);
    assert.equal(body(p), "x".repeat(10) + "y".repeat(26));
    assert.equal(p.ends, 1);
  });

  it("waits for the trailers' blank line before ending a chunked body", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n"]);
    assert.equal(body(p), "abc");
    assert.equal(p.ends, 0);
    p.parser.execute(Buffer.from("\r\n"));
    assert.equal(p.ends, 1);
  });

  it("hands the pieces of one execute() over as one onData buffer", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n2\r\ngh\r\n0\r\n\r\n"]);
    assert.equal(p.data.length, 1);
    assert.equal(p.data[0]!.toString(), "abcdefgh");
    assert.deepEqual(p.order, ["head", "data", "end"]);
    // Two reads: one buffer per read that carried body bytes.
    const q = parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\nd", "ef\r\n2\r\ngh\r\n0\r\n\r\n"]);
    assert.deepEqual(
      q.data.map((d) => d.toString()),
      ["abcd", "efgh"],
    );
  });

  it("gives no body to the answer to a HEAD request, whatever its headers say", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n"], true);
    assert.equal(p.heads[0]!.status, 200);
    assert.equal(p.heads[0]!.headers["content-length"], "1234");
    assert.equal(p.data.length, 0);
    assert.equal(p.ends, 1);
    assert.equal(p.parser.done, true);
    const chunked = parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"], true);
    assert.equal(chunked.ends, 1);
    assert.equal(chunked.heads[0]!.keepAlive, true);
  });

  for (const status of [204, 304]) {
    it(`gives no body to a ${status}, whatever its headers say`, () => {
      const p = parse([`HTTP/1.1 ${status} X\r\ncontent-length: 50\r\n\r\n`]);
      assert.equal(p.heads[0]!.status, status);
      assert.equal(p.data.length, 0);
      assert.equal(p.ends, 1);
      assert.equal(p.heads[0]!.keepAlive, true);
    });
  }

  it("ends at the head when content-length is 0", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]);
    assert.equal(p.ends, 1);
    assert.equal(p.data.length, 0);
    assert.equal(p.heads[0]!.keepAlive, true);
  });

  it("skips interim 1xx answers and reports the final one only", () => {
    const p = parse(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]);
    assert.equal(p.heads.length, 1);
    assert.equal(p.heads[0]!.status, 200);
    assert.equal(p.heads[0]!.headers.link, undefined);
    assert.equal(body(p), "ok");
    assert.equal(p.ends, 1);
    // The interim answer alone is no answer yet.
    const q = parse(["HTTP/1.1 100 Continue\r\n\r\n"]);
    assert.equal(q.heads.length, 0);
    assert.equal(q.parser.done, false);
    q.parser.execute(Buffer.from("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"));
    assert.equal(q.heads[0]!.status, 201);
    assert.equal(q.ends, 1);
  });

  it("refuses 101 Switching Protocols", () => {
    assert.throws(() => parse(["HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"]), isParseError);
  });

  it("reads a body without length until the connection closes, and never keeps that connection", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nsome ", "bytes"]);
    assert.equal(p.heads[0]!.keepAlive, false);
    assert.equal(body(p), "some bytes");
    assert.equal(p.ends, 0);
    assert.equal(p.parser.done, false);
    assert.equal(p.parser.finish(), true);
    assert.equal(p.ends, 1);
    assert.equal(p.parser.done, true);
  });

  it("says finish() is false when the connection closes mid-body or before any head", () => {
    const fixed = parse(["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345"]);
    assert.equal(fixed.parser.finish(), false);
    assert.equal(fixed.ends, 0);
    const chunked = parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel"]);
    assert.equal(chunked.parser.finish(), false);
    assert.equal(chunked.ends, 0);
    const nothing = parse([]);
    assert.equal(nothing.parser.started, false);
    assert.equal(nothing.parser.finish(), false);
    const halfHead = parse(["HTTP/1.1 200 OK\r\ncontent-"]);
    assert.equal(halfHead.parser.started, true);
    assert.equal(halfHead.parser.finish(), false);
    assert.equal(halfHead.heads.length, 0);
  });
});

describe("response parser: keep-alive and headers", () => {
  it("keeps an HTTP/1.0 connection only when the server says keep-alive", () => {
    assert.equal(parse(["HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"]).heads[0]!.keepAlive, false);
    const kept = parse(["HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 2\r\n\r\nok"]);
    assert.equal(kept.heads[0]!.keepAlive, true);
    assert.equal(kept.ends, 1);
  });

  it("does not keep a connection the server says it closes", () => {
    const p = parse(["HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok"]);
    assert.equal(p.heads[0]!.keepAlive, false);
    assert.equal(body(p), "ok");
    assert.equal(p.ends, 1);
  });

  it("frames by chunked when both transfer-encoding and content-length are sent, and drops that connection", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"]);
    assert.equal(body(p), "hello");
    assert.equal(p.ends, 1);
    assert.equal(p.heads[0]!.keepAlive, false);
  });

  it("reads a transfer-encoding that doesn't end in chunked until the close", () => {
    const p = parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n5\r\nhello"]);
    assert.equal(p.heads[0]!.keepAlive, false);
    assert.equal(body(p), "5\r\nhello");
    assert.equal(p.parser.finish(), true);
    const gzipThenChunked = parse(["HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n"]);
    assert.equal(body(gzipThenChunked), "zz");
    assert.equal(gzipThenChunked.ends, 1);
  });

  it("reads the server's keep-alive timeout hint in ms", () => {
    assert.equal(parse(["HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=1000\r\ncontent-length: 0\r\n\r\n"]).heads[0]!.keepAliveMs, 5000);
    assert.equal(parse(["HTTP/1.1 200 OK\r\nkeep-alive: max=3, TIMEOUT=1\r\ncontent-length: 0\r\n\r\n"]).heads[0]!.keepAliveMs, 1000);
    assert.equal(parse(["HTTP/1.1 200 OK\r\nkeep-alive: max=3\r\ncontent-length: 0\r\n\r\n"]).heads[0]!.keepAliveMs, null);
    assert.equal(parse(["HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]).heads[0]!.keepAliveMs, null);
  });

  it("lowercases header names, trims values, and makes repeated headers arrays", () => {
    const p = parse(["HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Request-ID:  abc  \r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\nx-empty:\r\ncontent-length: 0\r\n\r\n"]);
    const h = p.heads[0]!.headers;
    assert.deepEqual(h["set-cookie"], ["a=1", "b=2", "c=3"]);
    assert.equal(h["x-request-id"], "abc");
    assert.equal(h["x-empty"], "");
    assert.deepEqual(Object.keys(h).sort(), ["content-length", "set-cookie", "x-empty", "x-request-id"]);
  });

  it("accepts a status line without a reason phrase", () => {
    const p = parse(["HTTP/1.1 429\r\ncontent-length: 0\r\n\r\n"]);
    assert.equal(p.heads[0]!.status, 429);
  });

  it("does not let a __proto__ header reach the header map's prototype", () => {
    const p = parse(["HTTP/1.1 200 OK\r\n__proto__: polluted\r\ncontent-length: 0\r\n\r\n"]);
    const h = p.heads[0]!.headers;
    assert.equal(Object.hasOwn(h, "__proto__"), false);
    assert.deepEqual(Object.keys(h), ["content-length"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("reads a header whose name is an Object.prototype member (constructor) as any other header", () => {
    const p = parse(["HTTP/1.1 200 OK\r\nConstructor: x\r\ncontent-length: 2\r\n\r\nok"]);
    assert.equal(p.heads[0]!.headers.constructor, "x");
    assert.equal(body(p), "ok");
  });
});

describe("response parser: refusals", () => {
  const refused: [string, string[]][] = [
    ["a bad status line", ["HTTP/2 200 OK\r\ncontent-length: 0\r\n\r\n"]],
    ["a status line with a two-digit status", ["HTTP/1.1 20 OK\r\n\r\n"]],
    ["a status line that is not HTTP", ["SSH-2.0-OpenSSH\r\n\r\n"]],
    ["a header line without a colon", ["HTTP/1.1 200 OK\r\nno colon here\r\ncontent-length: 0\r\n\r\n"]],
    ["a header line starting with a colon", ["HTTP/1.1 200 OK\r\n: empty name\r\n\r\n"]],
    ["a header name with a space", ["HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n"]],
    ["a header name with whitespace before its colon", ["HTTP/1.1 200 OK\r\ncontent-length : 0\r\n\r\n"]],
    ["a folded header line", ["HTTP/1.1 200 OK\r\nx-a: 1\r\n x-b: 2\r\ncontent-length: 0\r\n\r\n"]],
    ["conflicting content-lengths in one header", ["HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\nhello"]],
    ["conflicting content-length headers", ["HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello"]],
    ["a non-numeric content-length", ["HTTP/1.1 200 OK\r\ncontent-length: five\r\n\r\n"]],
    ["a negative content-length", ["HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n"]],
    ["an empty content-length", ["HTTP/1.1 200 OK\r\ncontent-length:\r\n\r\n"]],
    ["a bad chunk size", ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"]],
    ["a chunk size with a 0x prefix", ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"]],
    ["a chunk size of more than 12 hex digits", ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1000000000000\r\n"]],
    ["an empty chunk size", ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\n"]],
    ["a chunk not followed by CRLF", ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"]],
    ["a chunk followed by CR and no LF", ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\rX"]],
    ["bytes after the end of a content-length answer", ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokX"]],
    ["bytes after the end of a chunked answer", ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"]],
    ["bytes after a 204", ["HTTP/1.1 204 No Content\r\n\r\nX"]],
    ["bytes after the end, in a later read", ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", "X"]],
  ];
  for (const [what, pieces] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parse(pieces), isParseError);
    });
  }

  it("hands over the body bytes it read before the bytes after the end", () => {
    const { parser, out } = recorder();
    parser.reset(false);
    assert.throws(() => parser.execute(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokX")), isParseError);
    assert.equal(body(out), "ok");
    assert.equal(out.ends, 1);
  });

  it("refuses a head longer than maxHeadBytes, fed whole or a byte at a time", () => {
    const long = `HTTP/1.1 200 OK\r\nx-long: ${"a".repeat(200)}\r\ncontent-length: 0\r\n\r\n`;
    const whole = recorder(64);
    assert.throws(() => whole.parser.execute(Buffer.from(long)), isParseError);
    assert.equal(whole.out.heads.length, 0);
    // Without its end in sight, the head is refused once it outgrows the limit.
    const bytewise = recorder(64);
    let fed = 0;
    assert.throws(() => {
      for (const b of Buffer.from(long)) {
        fed++;
        bytewise.parser.execute(Buffer.from([b]));
      }
    }, isParseError);
    assert.ok(fed > 64 && fed <= 66, `refused after ${fed} bytes`);
    // The same head under a limit it fits in is fine.
    const roomy = recorder(1024);
    roomy.parser.execute(Buffer.from(long));
    assert.equal(roomy.out.heads.length, 1);
    assert.equal(roomy.out.ends, 1);
  });

  it("measures the limit against the head, not the body that follows it", () => {
    const { parser, out } = recorder(64);
    parser.execute(Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n${"b".repeat(500)}`));
    assert.equal(out.ends, 1);
    assert.equal(body(out).length, 500);
  });

  it("refuses an over-long chunk-size line", () => {
    assert.throws(() => parse([`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;${"e".repeat(9000)}`]), isParseError);
  });

  it("does not quote a whole header line in its error message", () => {
    try {
      parse([`HTTP/1.1 200 OK\r\nno colon ${"s".repeat(100)}SECRET\r\n\r\n`]);
      assert.fail("no error");
    } catch (err) {
      isParseError(err);
      assert.ok(!(err as Error).message.includes("SECRET"), (err as Error).message);
    }
  });
});

describe("response parser: any split of the bytes", () => {
  const answers: [string, string, boolean][] = [
    ["a content-length answer", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nKeep-Alive: timeout=7\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz", false],
    ["a chunked answer with extensions and trailers", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;a=b\r\ndata\r\n1\r\n:\r\nc\r\n hello world\r\n0;end\r\nx-trailer: yes\r\n\r\n", false],
    ["a 100 Continue, then a chunked answer", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false],
    ["a body framed by the close", "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end", true],
  ];
  for (const [what, text, untilClose] of answers) {
    it(`parses ${what} the same whether in one piece, byte by byte, or cut at any byte`, () => {
      const bytes = Buffer.from(text, "latin1");
      const whole = parse([bytes]);
      if (untilClose) assert.equal(whole.parser.finish(), true);
      assert.equal(whole.heads.length, 1);
      assert.equal(whole.ends, 1);
      const expected = body(whole);
      assert.ok(expected.length > 0);
      for (const pieces of splits(bytes)) {
        const p = parse(pieces);
        if (untilClose) assert.equal(p.parser.finish(), true);
        const cut = pieces.map((b) => b.length).join("+");
        assert.deepEqual(p.heads, whole.heads, `head differs when cut as ${cut}`);
        assert.equal(body(p), expected, `body differs when cut as ${cut}`);
        assert.equal(p.ends, 1, `ends ${p.ends} times when cut as ${cut}`);
        assert.ok(
          p.data.every((d) => d.length > 0),
          `an empty onData when cut as ${cut}`,
        );
        assert.equal(p.order.indexOf("head"), 0);
        assert.equal(p.order.at(-1), "end");
      }
    });
  }
});

describe("response parser: reuse", () => {
  it("parses a second answer on the same connection after reset()", () => {
    const { parser, out } = recorder();
    parser.reset(false);
    parser.execute(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst"));
    assert.equal(parser.done, true);
    parser.reset(false);
    assert.equal(parser.done, false);
    assert.equal(parser.started, false);
    parser.execute(Buffer.from("HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n"));
    assert.deepEqual(
      out.heads.map((h) => h.status),
      [200, 404],
    );
    assert.equal(body(out), "firstsecond");
    assert.equal(out.ends, 2);
  });

  it("forgets a HEAD request's no-body rule at the next reset()", () => {
    const { parser, out } = recorder();
    parser.reset(true);
    parser.execute(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"));
    assert.equal(parser.done, true);
    parser.reset(false);
    parser.execute(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"));
    assert.equal(body(out), "hello");
    assert.equal(out.ends, 2);
  });

  it("drops what an unfinished answer left pending at reset()", () => {
    const { parser, out } = recorder();
    parser.reset(false);
    parser.execute(Buffer.from("HTTP/1.1 200 OK\r\ncontent-le"));
    parser.reset(false);
    parser.execute(Buffer.from("HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"));
    assert.equal(out.heads.length, 1);
    assert.equal(out.heads[0]!.status, 201);
  });
});
