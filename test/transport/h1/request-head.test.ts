/**
 * A request's head, byte for byte: request line, Host, the caller's headers, the body's length; and
 * the refusals that keep a header value or a path from ending its line early (without quoting the
 * value, which may be a credential).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { H1Error } from "../../../src/transport/h1/errors.ts";
import { requestHead } from "../../../src/transport/h1/request-head.ts";

const SECRET = "sk-live-0123456789abcdef";

/** Asserts `fn` throws a KP_H1_INVALID_REQUEST whose message doesn't contain `secret`. */
function refuses(fn: () => unknown, secret = SECRET): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof H1Error, `expected an H1Error, got ${String(err)}`);
    assert.equal(err.code, "KP_H1_INVALID_REQUEST");
    assert.ok(!err.message.includes(secret), `the message quotes the value: ${err.message}`);
    return true;
  });
}

describe("request head", () => {
  it("writes a POST with a body: request line, host, the caller's headers in order, content-length", () => {
    const head = requestHead("POST", "/v1/chat/completions?x=1", "api.example.com:8443", { "content-type": "application/json", authorization: `Bearer ${SECRET}`, "x-empty": "" }, 42);
    assert.equal(head, `POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: api.example.com:8443\r\ncontent-type: application/json\r\nauthorization: Bearer ${SECRET}\r\nx-empty: \r\ncontent-length: 42\r\n\r\n`);
  });

  it("writes a GET without a body and without content-length", () => {
    assert.equal(requestHead("GET", "/v1/models", "127.0.0.1:9", { accept: "application/json" }, null), "GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1:9\r\naccept: application/json\r\n\r\n");
    assert.equal(requestHead("DELETE", "/v1/files/f1", "h", {}, null), "DELETE /v1/files/f1 HTTP/1.1\r\nhost: h\r\n\r\n");
    assert.equal(requestHead("HEAD", "/", "h", {}, null), "HEAD / HTTP/1.1\r\nhost: h\r\n\r\n");
  });

  it("says content-length: 0 for a bodiless POST, PUT or PATCH", () => {
    assert.equal(requestHead("POST", "/v1/x", "h", {}, null), "POST /v1/x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
    assert.equal(requestHead("PUT", "/v1/x", "h", {}, null), "PUT /v1/x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
    assert.equal(requestHead("PATCH", "/v1/x", "h", {}, null), "PATCH /v1/x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
    assert.equal(requestHead("POST", "/v1/x", "h", {}, 0), "POST /v1/x HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
  });

  it("does not repeat a caller's host, content-length or transfer-encoding", () => {
    const head = requestHead("POST", "/v1/x", "real.example.com", { host: "evil.example.com", "content-length": "999", "transfer-encoding": "chunked", accept: "*/*" }, 5);
    assert.equal(head, "POST /v1/x HTTP/1.1\r\nhost: real.example.com\r\naccept: */*\r\ncontent-length: 5\r\n\r\n");
  });

  it(
    "does not repeat a caller's Host, Content-Length or Transfer-Encoding given in another case",
    () => {
      const head = requestHead("POST", "/v1/x", "real.example.com", { Host: "evil.example.com", "Content-Length": "999", "Transfer-Encoding": "chunked" }, 5);
      assert.equal(head, "POST /v1/x HTTP/1.1\r\nhost: real.example.com\r\ncontent-length: 5\r\n\r\n");
    },
  );

  for (const [what, bad] of [
    ["CR", "\r"],
    ["LF", "\n"],
    ["CRLF and a smuggled header", "\r\nx-injected: 1"],
    ["NUL", "\0"],
  ] as const) {
    it(`refuses ${what} in a header value without quoting the value`, () => {
      refuses(() => requestHead("GET", "/", "h", { authorization: `Bearer ${SECRET}${bad}tail` }, null));
      refuses(() => requestHead("GET", "/", "h", { authorization: `${bad}Bearer ${SECRET}` }, null));
    });
  }

  it(
    "refuses characters above U+00FF in a header value (written as latin1 they become other bytes: U+010D U+010A are CR LF)",
    () => {
      // What would reach the wire if it were written.
      const wire = (v: string): string => Buffer.from(requestHead("GET", "/", "h", { "x-a": v }, null), "latin1").toString("latin1");
      const smuggling = `${SECRET}\u010D\u010Ax-injected: 1`;
      let head: string | null = null;
      try {
        head = wire(smuggling);
      } catch {
        // Refused: what the fix does.
      }
      assert.equal(head, null, `written as ${JSON.stringify(head)}`);
      refuses(() => requestHead("GET", "/", "h", { "x-a": smuggling }, null));
      refuses(() => requestHead("GET", "/", "h", { "x-a": `${SECRET}\u0100` }, null));
      assert.throws(() => requestHead("GET", "/a\u010D\u010Ab", "h", {}, null), (err: unknown) => err instanceof H1Error && err.code === "KP_H1_INVALID_REQUEST");
    },
  );

  it("keeps latin1 bytes (obs-text) in a header value as they are", () => {
    const head = requestHead("GET", "/", "h", { "x-a": "caf\u00e9\ttab" }, null);
    assert.equal(head, "GET / HTTP/1.1\r\nhost: h\r\nx-a: caf\u00e9\ttab\r\n\r\n");
  });

  for (const name of ["bad name", "x:y", "", "x\r\ny", "\u00e9t\u00e9", "x\0"]) {
    it(`refuses the header name ${JSON.stringify(name)}, and does not quote its value`, () => {
      refuses(() => requestHead("GET", "/", "h", { [name]: SECRET }, null));
    });
  }

  for (const path of ["/v1/chat completions", "v1/models", "", "*", "http://evil/x", "/a\r\nx: y", "/a\nb", "/a\tb", "/a\0b"]) {
    it(`refuses the request path ${JSON.stringify(path)}`, () => {
      refuses(() => requestHead("GET", path, "h", { authorization: SECRET }, null));
    });
  }

  for (const method of ["GE T", "GET\r\n", "", "GET /x HTTP/1.1\r\nx:"]) {
    it(`refuses the method ${JSON.stringify(method)}`, () => {
      refuses(() => requestHead(method, "/", "h", { authorization: SECRET }, null));
    });
  }

  it("checks every header, not only the first", () => {
    refuses(() => requestHead("GET", "/", "h", { accept: "*/*", "x-ok": "1", "api-key": `${SECRET}\n` }, null));
  });
});
