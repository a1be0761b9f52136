/**
 * keypool's HTTP/1.1 client against real sockets on 127.0.0.1: node:http servers where a
 * well-behaved upstream does, raw node:net servers to script exact bytes and misbehaviour. Keep-alive
 * reuse and its expiry, the connection limit and its queue, the three timeouts' kin (head, body
 * silence, backpressure that is no silence), aborts, resets, cut answers, stray bytes, close(), and
 * TLS, with send.ts naming each failure.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { connect as netConnect, createServer as createNetServer, Socket, type AddressInfo, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getDefaultHighWaterMark, type Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { after, before, describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { H1Agent, type H1AgentOptions } from "../../../src/transport/h1/agent.ts";
import type { ExchangeOptions } from "../../../src/transport/h1/connection.ts";
import { failureOf, send, TransportFailureError } from "../../../src/transport/send.ts";

/** Every test's own limit: each is meant to take well under a second. */
const T = { timeout: 4000 };
const NEVER = new AbortController().signal;

function opts(over: Partial<ExchangeOptions> = {}): ExchangeOptions {
  return { method: "GET", headers: {}, body: null, signal: NEVER, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, ...over };
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

async function within<V>(p: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the (server-side) socket has closed. */
async function closed(socket: Socket, ms = 1000): Promise<void> {
  if (socket.closed) return;
  await within(once(socket, "close"), ms, "the server-side socket to close");
}

/** A body read to its end or its error. */
async function drain(body: Readable): Promise<{ data: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of body) chunks.push(c as Buffer);
    return { data: Buffer.concat(chunks), error: null };
  } catch (error) {
    return { data: Buffer.concat(chunks), error };
  }
}

interface Served {
  origin: string;
  port: number;
  /** Server-side TCP connections, in the order they were accepted. */
  sockets: Socket[];
}

async function listen(t: TestContext, server: HttpServer | HttpsServer | NetServer, scheme = "http"): Promise<Served> {
  const sockets: Socket[] = [];
  server.on("connection", (s: Socket) => {
    s.on("error", () => {});
    sockets.push(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const port = (server.address() as AddressInfo).port;
  return { origin: `${scheme}://127.0.0.1:${port}`, port, sockets };
}

function agentFor(t: TestContext, o: H1AgentOptions = { connectMs: 1000 }): H1Agent {
  const agent = new H1Agent(o);
  t.after(() => agent.close());
  return agent;
}

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
  socket: Socket;
}

/** A node:http upstream; `handle` answers, every request is recorded with its body. */
async function httpUpstream(t: TestContext, handle: (req: SeenRequest, res: import("node:http").ServerResponse) => void): Promise<Served & { seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks), socket: req.socket };
      seen.push(r);
      handle(r, res);
    });
  });
  return { ...(await listen(t, server)), seen };
}

interface RawRequest {
  method: string;
  path: string;
  /** The head as sent, without its final blank line. */
  head: string;
  headers: Record<string, string>;
  body: Buffer;
  socket: Socket;
  /** Its index on its connection. */
  onSocket: number;
}

/** A node:net upstream that splits requests off each connection and lets `handle` write whatever bytes it likes. */
async function rawUpstream(t: TestContext, handle: (req: RawRequest, n: number) => void): Promise<Served & { requests: RawRequest[] }> {
  const requests: RawRequest[] = [];
  const server = createNetServer((socket) => {
    let buf = Buffer.alloc(0);
    let onSocket = 0;
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.toString("latin1", 0, end);
        const lines = head.split("\r\n");
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers["content-length"] ?? "0");
        if (buf.length < end + 4 + length) return;
        const body = Buffer.from(buf.subarray(end + 4, end + 4 + length));
        buf = buf.subarray(end + 4 + length);
        const [method = "", path = ""] = lines[0]!.split(" ");
        const req = { method, path, head, headers, body, socket, onSocket: onSocket++ };
        requests.push(req);
        handle(req, requests.length - 1);
      }
    });
  });
  return { ...(await listen(t, server)), requests };
}

/** A complete answer with a content-length. */
function answer(body: string, extra = "", status = "200 OK"): string {
  return `HTTP/1.1 ${status}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("H1Agent: exchanges and keep-alive", () => {
  it("POSTs a request and hands over the answer's status, headers and body", T, async (t) => {
    const up = await httpUpstream(t, (req, res) => {
      res.writeHead(201, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"], "x-request-id": "req-1" });
      res.end(JSON.stringify({ got: req.body.toString("utf8") }));
    });
    const agent = agentFor(t);
    const payload = Buffer.from(JSON.stringify({ model: "m", messages: [{ role: "user", content: "héllo 世界 🚀" }] }));
    const res = await agent.request(up.origin, "/v1/chat/completions?stream=false", opts({ method: "POST", headers: { "content-type": "application/json", authorization: "Bearer sk-test" }, body: payload }));
    assert.equal(res.status, 201);
    assert.equal(res.headers["content-type"], "application/json");
    assert.equal(res.headers["x-request-id"], "req-1");
    assert.deepEqual(res.headers["set-cookie"], ["a=1", "b=2"]);
    assert.deepEqual(JSON.parse(await text(res.body)), { got: payload.toString("utf8") });

    assert.equal(up.seen.length, 1);
    const seen = up.seen[0]!;
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/v1/chat/completions?stream=false");
    assert.equal(seen.headers.host, `127.0.0.1:${up.port}`);
    assert.equal(seen.headers["content-length"], String(payload.length));
    assert.equal(seen.headers["transfer-encoding"], undefined);
    assert.equal(seen.headers["content-type"], "application/json");
    assert.equal(seen.headers.authorization, "Bearer sk-test");
    assert.ok(seen.body.equals(payload));
  });

  it("sends exactly one request's bytes: the head, then the body, nothing more", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write(answer("ok")));
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/v1/embeddings", opts({ method: "POST", headers: { "content-type": "application/json", "api-key": "k1" }, body: Buffer.from('{"input":"x"}') }));
    assert.equal(await text(res.body), "ok");
    await sleep(20);
    assert.equal(up.requests.length, 1);
    const req = up.requests[0]!;
    assert.equal(req.head, `POST /v1/embeddings HTTP/1.1\r\nhost: 127.0.0.1:${up.port}\r\ncontent-type: application/json\r\napi-key: k1\r\ncontent-length: 13`);
    assert.equal(req.body.toString(), '{"input":"x"}');
  });

  it("reuses one connection for sequential requests", T, async (t) => {
    const up = await httpUpstream(t, (req, res) => res.end(`answer to ${req.url}`));
    const agent = agentFor(t);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
    const first = await agent.request(up.origin, "/one", opts());
    assert.equal(agent.stats(up.origin).open, 1);
    assert.equal(await text(first.body), "answer to /one");
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
    const second = await agent.request(up.origin, "/two", opts());
    assert.equal(await text(second.body), "answer to /two");
    assert.equal(up.sockets.length, 1, "two TCP connections for two sequential requests");
    assert.equal(up.seen[0]!.socket, up.seen[1]!.socket);
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
  });

  it("reads an answer to HEAD as bodiless and reuses its connection", T, async (t) => {
    const up = await httpUpstream(t, (req, res) => {
      res.setHeader("content-length", "5");
      res.end(req.method === "HEAD" ? undefined : "hello");
    });
    const agent = agentFor(t);
    const head = await agent.request(up.origin, "/", opts({ method: "HEAD" }));
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], "5");
    assert.equal(await text(head.body), "");
    const get = await agent.request(up.origin, "/", opts());
    assert.equal(await text(get.body), "hello");
    assert.equal(up.sockets.length, 1);
  });

  it("opens a new connection after an answer that says connection: close", T, async (t) => {
    const up = await httpUpstream(t, (_req, res) => {
      res.setHeader("connection", "close");
      res.end("bye");
    });
    const agent = agentFor(t);
    assert.equal(await text((await agent.request(up.origin, "/", opts())).body), "bye");
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
    assert.equal(await text((await agent.request(up.origin, "/", opts())).body), "bye");
    assert.equal(up.sockets.length, 2);
    assert.notEqual(up.seen[0]!.socket, up.seen[1]!.socket);
  });

  it("reads an answer framed by the close to its end, and doesn't keep that connection", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the close"));
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/", opts());
    const { data, error } = await drain(res.body);
    assert.equal(error, null);
    assert.equal(data.toString(), "until the close");
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });

  it("drops an idle connection the server closed, and answers the next request on a new one", T, async (t) => {
    const up = await rawUpstream(t, (req, n) => {
      req.socket.write(answer(`answer ${n}`));
      if (n === 0) setTimeout(() => req.socket.end(), 10);
    });
    const agent = agentFor(t);
    assert.equal(await text((await agent.request(up.origin, "/", opts())).body), "answer 0");
    await closed(up.sockets[0]!);
    await until(() => agent.stats(up.origin).open === 0, 1000, "the pool to notice the close");
    const res = await agent.request(up.origin, "/", opts());
    assert.equal(await text(res.body), "answer 1");
    assert.equal(up.sockets.length, 2);
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
  });

  it("drops a connection the server sent bytes on between answers, and answers the next request on a new one", T, async (t) => {
    const up = await rawUpstream(t, (req, n) => {
      req.socket.write(answer(`answer ${n}`));
      if (n === 0) setTimeout(() => req.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nJUNK"), 20);
    });
    const agent = agentFor(t);
    assert.equal(await text((await agent.request(up.origin, "/", opts())).body), "answer 0");
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
    const res = await agent.request(up.origin, "/", opts());
    assert.equal(await text(res.body), "answer 1");
    assert.equal(up.sockets.length, 2);
  });

  it("hands over an answer followed by stray bytes in the same read, and doesn't reuse that connection", T, async (t) => {
    // Two shapes servers get wrong: an extra CRLF after a content-length body, and junk after a chunked end.
    const up = await rawUpstream(t, (req, n) => {
      if (n === 0) req.socket.write(`${answer("first")}\r\n`);
      else if (n === 1) req.socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
      else req.socket.write(answer("third"));
    });
    const agent = agentFor(t);
    for (const [i, expected] of ["first", "second", "third"].entries()) {
      const res = await agent.request(up.origin, "/", opts());
      assert.equal(res.whole?.toString(), expected, `answer ${i}`);
      assert.equal(await text(res.body), expected);
    }
    assert.equal(up.sockets.length, 3, "a connection with stray bytes was used again");
    assert.equal(up.requests.map((r) => r.onSocket).join(), "0,0,0");
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
  });

  it("rejects a request it can't write, and keeps the connection it opened for it usable", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write(answer("ok")));
    const agent = agentFor(t);
    await assert.rejects(agent.request(up.origin, "no-slash", opts()), (err: unknown) => codeOf(err) === "KP_H1_INVALID_REQUEST");
    await assert.rejects(agent.request(up.origin, "/", opts({ headers: { "x-a": "1\r\nx-b: 2" } })), (err: unknown) => codeOf(err) === "KP_H1_INVALID_REQUEST");
    assert.equal(await text((await agent.request(up.origin, "/", opts())).body), "ok");
    assert.equal(up.requests.length, 1, "a refused request reached the server");
    assert.equal(up.sockets.length, 1);
  });

  it(
    "reuses a connection whose answer ended while its reader was full (the socket is not left paused)",
    T,
    async (t) => {
      const hwm = getDefaultHighWaterMark(false);
      // The first answer's body: just under the reader's high-water mark at once, then the rest after a pause,
      // which lands in a full buffer and ends the answer.
      const up = await rawUpstream(t, (req, n) => {
        if (n > 0) return void req.socket.write(answer("second"));
        req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${hwm + 1000}\r\n\r\n${"a".repeat(hwm - 1000)}`);
        setTimeout(() => req.socket.write("b".repeat(2000)), 50);
      });
      const agent = agentFor(t);
      const first = await agent.request(up.origin, "/", opts());
      await sleep(150); // the reader is busy elsewhere while the answer ends
      assert.equal((await text(first.body)).length, hwm + 1000);
      assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
      const second = await agent.request(up.origin, "/", opts({ headersTimeoutMs: 500 }));
      assert.equal(await text(second.body), "second");
    },
  );
});

describe("H1Agent: the connection limit", () => {
  it("queues requests beyond `connections` and answers them all, never over the limit", T, async (t) => {
    let inFlight = 0;
    let maxInFlight = 0;
    let maxSockets = 0;
    const up = await httpUpstream(t, (req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      maxSockets = Math.max(maxSockets, up.sockets.filter((s) => !s.closed).length);
      setTimeout(() => {
        inFlight--;
        res.end(`answer to ${req.url}`);
      }, 30);
    });
    const agent = agentFor(t, { connectMs: 1000, connections: 2 });
    const paths = ["/0", "/1", "/2", "/3", "/4", "/5", "/6"];
    const pending = paths.map((p) => agent.request(up.origin, p, opts()).then((r) => text(r.body)));
    assert.deepEqual(agent.stats(up.origin), { open: 2, idle: 0 });
    assert.deepEqual(
      await Promise.all(pending),
      paths.map((p) => `answer to ${p}`),
    );
    assert.equal(up.sockets.length, 2);
    assert.equal(maxSockets, 2);
    assert.equal(maxInFlight, 2);
    assert.deepEqual(new Set(up.seen.slice(0, 2).map((s) => s.url)), new Set(["/0", "/1"]));
    assert.deepEqual(up.seen.map((s) => s.url).sort(), paths);
    assert.deepEqual(agent.stats(up.origin), { open: 2, idle: 2 });
  });

  it("lets a queued request be aborted without sending it", T, async (t) => {
    const up = await httpUpstream(t, (req, res) => setTimeout(() => res.end(`answer to ${req.url}`), req.url === "/slow" ? 100 : 0));
    const agent = agentFor(t, { connectMs: 1000, connections: 1 });
    const slow = agent.request(up.origin, "/slow", opts());
    const ac = new AbortController();
    const queued = agent.request(up.origin, "/queued", opts({ signal: ac.signal }));
    const reason = new Error("caller gave up");
    setTimeout(() => ac.abort(reason), 20);
    await assert.rejects(queued, (err: unknown) => err === reason);
    assert.equal(await text((await slow).body), "answer to /slow");
    assert.equal(await text((await agent.request(up.origin, "/after", opts())).body), "answer to /after");
    assert.deepEqual(
      up.seen.map((s) => s.url),
      ["/slow", "/after"],
    );
    assert.equal(up.sockets.length, 1);
  });

  it("lets a waiter connect when a busy connection fails", T, async (t) => {
    const up = await rawUpstream(t, (req) => {
      if (req.path === "/reset") req.socket.resetAndDestroy();
      else req.socket.write(answer("fine"));
    });
    const agent = agentFor(t, { connectMs: 1000, connections: 1 });
    const failing = agent.request(up.origin, "/reset", opts());
    const waiting = agent.request(up.origin, "/ok", opts());
    await assert.rejects(failing);
    assert.equal(await text((await waiting).body), "fine");
    assert.equal(up.sockets.length, 2);
  });
});

describe("H1Agent: timeouts and backpressure", () => {
  it("rejects with KP_H1_HEADERS_TIMEOUT when no head comes, and closes the connection", T, async (t) => {
    const up = await rawUpstream(t, () => {});
    const agent = agentFor(t);
    const start = Date.now();
    const err = await agent.request(up.origin, "/", opts({ headersTimeoutMs: 100 })).then(
      () => assert.fail("answered"),
      (e: unknown) => e,
    );
    const took = Date.now() - start;
    assert.equal(codeOf(err), "KP_H1_HEADERS_TIMEOUT");
    assert.ok(took >= 90 && took < 1500, `timed out after ${took} ms`);
    assert.equal(failureOf(err), "timeout");
    assert.equal(up.requests.length, 1);
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });

  it("errors the body with KP_H1_BODY_TIMEOUT when the answer stalls mid-body, and closes the connection", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n${"x".repeat(10)}`));
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/", opts({ bodyTimeoutMs: 100 }));
    assert.equal(res.status, 200);
    const start = Date.now();
    const { data, error } = await drain(res.body);
    assert.equal(codeOf(error), "KP_H1_BODY_TIMEOUT");
    assert.equal(data.toString(), "x".repeat(10));
    assert.ok(Date.now() - start < 1500);
    assert.equal(failureOf(error), "timeout");
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });

  it("times each silence in a body, not the whole body", T, async (t) => {
    const parts = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const up = await rawUpstream(t, (req) => {
      req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${parts.length}\r\n\r\n`);
      let i = 0;
      const timer = setInterval(() => {
        req.socket.write(parts[i++]!);
        if (i === parts.length) clearInterval(timer);
      }, 30);
    });
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/", opts({ bodyTimeoutMs: 120 }));
    const start = Date.now();
    const { data, error } = await drain(res.body);
    assert.equal(error, null);
    assert.equal(data.toString(), parts.join(""));
    assert.ok(Date.now() - start >= 150, "the body took less than its timeout: the test proves nothing");
  });

  it("does not time out a body while its reader holds it back (backpressure), and delivers all of it", T, async (t) => {
    const size = 16 * 1024 * 1024;
    let serverDoneAt = 0;
    const up = await httpUpstream(t, (_req, res) => {
      res.setHeader("content-length", String(size));
      res.on("finish", () => (serverDoneAt = Date.now()));
      res.end(Buffer.alloc(size, 0x61));
    });
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/big", opts({ bodyTimeoutMs: 100 }));
    await sleep(350); // three body timeouts long, reading nothing
    const resumedAt = Date.now();
    assert.equal(serverDoneAt, 0, "the server wrote the whole body while nobody read it: no backpressure to test");
    const { data, error } = await drain(res.body);
    assert.equal(error, null);
    assert.equal(data.length, size);
    assert.ok(serverDoneAt >= resumedAt);
    await until(() => agent.stats(up.origin).idle === 1, 500, "the connection to go idle");
  });
});

describe("H1Agent: aborts and broken connections", () => {
  it("rejects with the signal's reason when aborted before the head, and closes the connection", T, async (t) => {
    const up = await rawUpstream(t, () => {});
    const agent = agentFor(t);
    const ac = new AbortController();
    const reason = new Error("caller gave up");
    const pending = agent.request(up.origin, "/", opts({ signal: ac.signal }));
    await until(() => up.requests.length === 1, 1000, "the request to arrive");
    ac.abort(reason);
    await assert.rejects(pending, (err: unknown) => err === reason);
    assert.equal(failureOf(reason, ac.signal), undefined);
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });

  it("rejects at once with the reason of a signal aborted before the call, sending nothing", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write(answer("ok")));
    const agent = agentFor(t);
    const reason = new Error("already aborted");
    await assert.rejects(agent.request(up.origin, "/", opts({ signal: AbortSignal.abort(reason) })), (err: unknown) => err === reason);
    assert.equal(await text((await agent.request(up.origin, "/", opts())).body), "ok");
    assert.equal(up.requests.length, 1);
  });

  it("errors the body with the signal's reason when aborted mid-body, and closes the connection", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n${"x".repeat(10)}`));
    const agent = agentFor(t);
    const ac = new AbortController();
    const res = await agent.request(up.origin, "/", opts({ signal: ac.signal }));
    const reader = res.body[Symbol.asyncIterator]();
    const first = await reader.next();
    assert.equal((first.value as Buffer).toString(), "x".repeat(10));
    const reason = new Error("caller gave up mid-body");
    ac.abort(reason);
    await assert.rejects(reader.next(), (err: unknown) => err === reason);
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });

  it("closes the connection when the body is destroyed mid-way, and answers the next request on a new one", T, async (t) => {
    const up = await rawUpstream(t, (req) => {
      if (req.path === "/stall") req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n${"x".repeat(10)}`);
      else req.socket.write(answer("next"));
    });
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/stall", opts());
    await once(res.body, "data");
    res.body.destroy();
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
    assert.equal(await text((await agent.request(up.origin, "/next", opts())).body), "next");
    assert.equal(up.sockets.length, 2);
  });

  it("rejects when the server resets the connection, a failure send.ts names reset", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.resetAndDestroy());
    const agent = agentFor(t);
    const err = await agent.request(up.origin, "/", opts()).then(
      () => assert.fail("answered"),
      (e: unknown) => e,
    );
    assert.ok(["ECONNRESET", "KP_H1_CLOSED"].includes(codeOf(err) as string), `code ${String(codeOf(err))}`);
    assert.equal(failureOf(err), "reset");
    await assert.rejects(
      send(`${up.origin}/v1/chat/completions`, { method: "POST", headers: {}, body: Buffer.from("{}"), signal: NEVER, dispatcher: agent, headersTimeoutMs: 1000, bodyTimeoutMs: 1000 }),
      (e: unknown) => e instanceof TransportFailureError && e.failure === "reset",
    );
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });

  it("sends a request once more, on a new connection, when a kept-alive one closes before any byte of its answer", T, async (t) => {
    // The server closing an idle connection just as a request is written on it: with a FIN, and with a reset.
    for (const close of ["end", "reset"] as const) {
      const up = await rawUpstream(t, (req) => {
        if (req.onSocket === 1 && req.socket === up.sockets[0]) return void (close === "end" ? req.socket.destroy() : req.socket.resetAndDestroy());
        req.socket.write(answer(`answer on socket ${up.sockets.indexOf(req.socket)}`));
      });
      const agent = agentFor(t);
      assert.equal(await text((await agent.request(up.origin, "/", opts())).body), "answer on socket 0");
      const res = await agent.request(up.origin, "/", opts({ method: "POST", body: Buffer.from('{"n":2}') }));
      assert.equal(await text(res.body), "answer on socket 1", close);
      assert.deepEqual(
        up.requests.map((r) => [up.sockets.indexOf(r.socket), r.body.toString()]),
        [
          [0, ""],
          [0, '{"n":2}'],
          [1, '{"n":2}'],
        ],
        close,
      );
      assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
    }
  });

  it("does not send again on a new connection's first request, nor once a byte of the answer came", T, async (t) => {
    const fresh = await rawUpstream(t, (req) => req.socket.destroy());
    const agent = agentFor(t);
    await assert.rejects(agent.request(fresh.origin, "/", opts()), (err: unknown) => codeOf(err) === "KP_H1_CLOSED");
    assert.equal(fresh.requests.length, 1);
    const partial = await rawUpstream(t, (req) => {
      if (req.onSocket === 0) return void req.socket.write(answer("first"));
      req.socket.write("HTTP/1.1 200 OK\r\ncontent-le", () => req.socket.destroy());
    });
    assert.equal(await text((await agent.request(partial.origin, "/", opts())).body), "first");
    await assert.rejects(agent.request(partial.origin, "/", opts()), (err: unknown) => codeOf(err) === "KP_H1_CLOSED");
    assert.equal(partial.requests.length, 2);
  });

  it("rejects when nothing listens, a failure send.ts names connect", T, async (t) => {
    const origin = `http://127.0.0.1:${await freePort()}`;
    const agent = agentFor(t);
    const err = await agent.request(origin, "/", opts()).then(
      () => assert.fail("answered"),
      (e: unknown) => e,
    );
    assert.equal(codeOf(err), "ECONNREFUSED");
    assert.equal(failureOf(err), "connect");
    assert.deepEqual(agent.stats(origin), { open: 0, idle: 0 });
    await assert.rejects(
      send(`${origin}/v1/models`, { method: "GET", headers: {}, body: null, signal: NEVER, dispatcher: agent, headersTimeoutMs: 1000, bodyTimeoutMs: 1000 }),
      (e: unknown) => e instanceof TransportFailureError && e.failure === "connect",
    );
  });

  it("errors the body with KP_H1_CLOSED when the server closes mid-body", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n${"x".repeat(50)}`, () => req.socket.destroy()));
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/", opts());
    const { data, error } = await drain(res.body);
    assert.equal(codeOf(error), "KP_H1_CLOSED");
    assert.equal(data.length, 50);
    assert.equal(failureOf(error), "reset");
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });

  it("rejects with KP_H1_PARSE on an answer that isn't HTTP/1.1, and closes the connection", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write("SSH-2.0-OpenSSH_9.6\r\n\r\n"));
    const agent = agentFor(t);
    await assert.rejects(agent.request(up.origin, "/", opts()), (err: unknown) => codeOf(err) === "KP_H1_PARSE" && failureOf(err) === "reset");
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
  });
});

describe("H1Agent: streaming", () => {
  it("delivers a chunked event stream in order, as it is written, and keeps the connection", T, async (t) => {
    const events = ["data: one\n\n", "data: two\n\n", ": comment\n\n", 'data: {"x":"ü"}\n\n', "data: [DONE]\n\n"];
    let serverEnded = false;
    const up = await httpUpstream(t, (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const next = (): void => {
        if (i === events.length) {
          serverEnded = true;
          res.end();
          return;
        }
        res.write(events[i++]);
        setTimeout(next, 25);
      };
      next();
    });
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/v1/chat/completions", opts({ method: "POST", body: Buffer.from("{}"), bodyTimeoutMs: 500 }));
    assert.equal(res.headers["transfer-encoding"], "chunked");
    assert.equal(res.headers["content-type"], "text/event-stream");
    const chunks: string[] = [];
    let firstBeforeEnd = false;
    for await (const c of res.body) {
      if (chunks.length === 0) firstBeforeEnd = !serverEnded;
      chunks.push((c as Buffer).toString("utf8"));
    }
    assert.equal(chunks.join(""), events.join(""));
    assert.ok(firstBeforeEnd, "the first event came only after the server ended: buffered, not streamed");
    assert.ok(chunks.length >= 3, `only ${chunks.length} chunks`);
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
  });
});

describe("H1Agent: a stalled event loop", () => {
  it("reads an answer that came during a stall longer than the head's timeout before timing out", T, async (t) => {
    // The upstream runs in another process: it answers while this one is stalled.
    const child = spawn(process.execPath, ["-e", "require('node:http').createServer((q, s) => s.end('fine')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })"], { stdio: ["ignore", "pipe", "inherit"] });
    t.after(() => child.kill());
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    const origin = `http://127.0.0.1:${line.toString().trim()}`;
    const agent = agentFor(t);
    assert.equal(await text((await agent.request(origin, "/warm", opts())).body), "fine", "a kept connection: the next request is written at once");
    const pending = agent.request(origin, "/stalled", opts({ headersTimeoutMs: 100 }));
    const stallEnd = Date.now() + 400;
    while (Date.now() < stallEnd); // the loop stalls: timers will run before the socket is read
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(await text(res.body), "fine");
  });
});

describe("H1Agent: answers that come whole", () => {
  it("hands an answer whose body came with its head over whole, and its stream only when asked", T, async (t) => {
    const body = JSON.stringify({ id: "x", usage: { prompt_tokens: 1 } });
    const up = await rawUpstream(t, (req) => {
      // Head and body in one write: one read on the client's side.
      req.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${req.method === "HEAD" ? "" : body}`);
    });
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/v1/x", opts({ method: "POST", body: Buffer.from("{}") }));
    assert.equal(res.whole?.toString(), body, "the whole body is there at the head");
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 }, "the connection is free already: nothing left to read");
    assert.equal(await text(res.body), body, "its stream, made on demand, reads the same bytes");
    const empty = await agent.request(up.origin, "/v1/x", opts({ method: "HEAD" }));
    assert.equal(empty.whole?.length, 0);
    assert.equal(await text(empty.body), "");
  });

  it("streams an answer whose body is still coming, with no whole", T, async (t) => {
    const up = await rawUpstream(t, (req) => {
      req.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n01234");
      setTimeout(() => req.socket.write("56789"), 30);
    });
    const agent = agentFor(t);
    const res = await agent.request(up.origin, "/v1/x", opts());
    assert.equal(res.whole, null);
    assert.equal(await text(res.body), "0123456789", "the bytes of the head's read come first, then the rest");
  });
});

describe("H1Agent: requests written in one turn of the loop", () => {
  /** Two idle kept-alive connections to an upstream that answers every request whole; client sockets as they write. */
  async function twoWarm(t: TestContext): Promise<{ agent: H1Agent; origin: string; writers: Socket[] }> {
    const up = await rawUpstream(t, (req) => req.socket.write(answer(`to ${req.path}`)));
    const agent = agentFor(t);
    await Promise.all([agent.request(up.origin, "/warm-1", opts()), agent.request(up.origin, "/warm-2", opts())]);
    assert.deepEqual(agent.stats(up.origin), { open: 2, idle: 2 });
    const writers: Socket[] = [];
    const write = Socket.prototype.write;
    t.mock.method(Socket.prototype, "write", function (this: Socket, ...args: Parameters<Socket["write"]>) {
      if (!writers.includes(this)) writers.push(this);
      return write.apply(this, args);
    });
    return { agent, origin: up.origin, writers };
  }

  it("holds a request written while another is in flight until the turn ends, then sends both", T, async (t) => {
    const { agent, origin, writers } = await twoWarm(t);
    const a = agent.request(origin, "/a", opts({ method: "POST", body: Buffer.from("{}") }));
    const b = agent.request(origin, "/b", opts({ method: "POST", body: Buffer.from("{}") }));
    assert.equal(writers.length, 2);
    assert.equal(writers[0]!.writableCorked, 0, "the first request, alone in flight, left at once");
    assert.equal(writers[1]!.writableCorked, 1, "the second waits for the turn's end");
    assert.ok(writers[1]!.writableLength > 0, "its bytes are held, not sent");
    await new Promise((r) => setImmediate(r));
    assert.equal(writers[1]!.writableCorked, 0, "and leaves once the turn is over");
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(await text(ra.body), "to /a");
    assert.equal(await text(rb.body), "to /b");
  });

  it("sends a request alone in flight at once, and counts none in flight once exchanges end, fail or are aborted", T, async (t) => {
    const { inFlight } = await import("../../../src/transport/h1/write-batch.ts");
    const { agent, origin, writers } = await twoWarm(t);
    assert.equal(inFlight.count, 0);
    const lone = agent.request(origin, "/lone", opts({ method: "POST", body: Buffer.from("{}") }));
    assert.equal(writers[0]!.writableCorked, 0, "nothing else in flight: no wait");
    assert.equal(inFlight.count, 1);
    assert.equal(await text((await lone).body), "to /lone");
    assert.equal(inFlight.count, 0);
    const ac = new AbortController();
    const aborted = agent.request(origin, "/aborted", opts({ signal: ac.signal }));
    ac.abort(new Error("caller left"));
    await assert.rejects(aborted, /caller left/);
    const silent = await rawUpstream(t, () => {});
    await assert.rejects(agent.request(silent.origin, "/silent", opts({ headersTimeoutMs: 50 })), (err) => codeOf(err) === "KP_H1_HEADERS_TIMEOUT");
    assert.equal(inFlight.count, 0, "an exchange that ended badly is no longer in flight");
  });
});

describe("H1Agent: keep-alive expiry", () => {
  it("does not reuse a connection once the server's Keep-Alive timeout (less a second) has passed", T, async (t) => {
    const up = await rawUpstream(t, (req) => req.socket.write(answer("ok", `keep-alive: timeout=${req.path === "/short" ? 1 : 5}\r\n`)));
    const agent = agentFor(t);
    // timeout=5: kept for 4 s, so reused.
    await text((await agent.request(up.origin, "/long", opts())).body);
    await sleep(30);
    await text((await agent.request(up.origin, "/long", opts())).body);
    assert.equal(up.sockets.length, 1);
    // timeout=1: kept for 0 s, so never reused.
    await text((await agent.request(up.origin, "/short", opts())).body);
    await sleep(30);
    await text((await agent.request(up.origin, "/long", opts())).body);
    assert.equal(up.sockets.length, 2);
    await closed(up.sockets[0]!);
  });

  it("does not reuse a connection idle past keepAliveMs, and sweeps idle ones closed", T, async (t) => {
    const up = await httpUpstream(t, (_req, res) => res.end("ok"));
    const agent = agentFor(t, { connectMs: 1000, keepAliveMs: 100 });
    await text((await agent.request(up.origin, "/", opts())).body);
    await sleep(150);
    await text((await agent.request(up.origin, "/", opts())).body);
    assert.equal(up.sockets.length, 2);
    await closed(up.sockets[0]!);
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 1 });
    // No request comes: the sweeper (once a second) closes it.
    await until(() => agent.stats(up.origin).open === 0, 2500, "the sweep");
    await closed(up.sockets[1]!);
  });
});

describe("H1Agent: close()", () => {
  it("closes idle connections, lets one in flight finish, and refuses later requests with KP_H1_AGENT_CLOSED", T, async (t) => {
    const up = await httpUpstream(t, (req, res) => setTimeout(() => res.end(`answer to ${req.url}`), req.url === "/slow" ? 80 : 0));
    const agent = agentFor(t);
    assert.equal(await text((await agent.request(up.origin, "/fast", opts())).body), "answer to /fast");
    const slow = agent.request(up.origin, "/slow", opts());
    await until(() => up.seen.length === 2, 1000, "the slow request to arrive");
    const idleOther = await agent.request(up.origin, "/fast", opts()); // a second connection: the first is busy
    await text(idleOther.body);
    assert.deepEqual(agent.stats(up.origin), { open: 2, idle: 1 });
    await agent.close();
    assert.deepEqual(agent.stats(up.origin), { open: 1, idle: 0 });
    assert.equal(await text((await slow).body), "answer to /slow");
    await Promise.all(up.sockets.map((s) => closed(s)));
    assert.deepEqual(agent.stats(up.origin), { open: 0, idle: 0 });
    await assert.rejects(agent.request(up.origin, "/", opts()), (err: unknown) => codeOf(err) === "KP_H1_AGENT_CLOSED");
    await assert.rejects(agent.request("http://127.0.0.1:1", "/", opts()), (err: unknown) => codeOf(err) === "KP_H1_AGENT_CLOSED");
    assert.equal(up.seen.length, 3);
  });

  it("rejects queued requests with KP_H1_AGENT_CLOSED", T, async (t) => {
    const up = await httpUpstream(t, (req, res) => setTimeout(() => res.end(`answer to ${req.url}`), 60));
    const agent = agentFor(t, { connectMs: 1000, connections: 1 });
    const slow = agent.request(up.origin, "/slow", opts());
    const queued = agent.request(up.origin, "/queued", opts());
    await agent.close();
    await assert.rejects(queued, (err: unknown) => codeOf(err) === "KP_H1_AGENT_CLOSED");
    assert.equal(await text((await slow).body), "answer to /slow");
    assert.deepEqual(
      up.seen.map((s) => s.url),
      ["/slow"],
    );
  });
});

describe("H1Agent: HTTPS", () => {
  let dir = "";
  let ca: Buffer;
  let key: Buffer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "keypool-h1-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "pipe", timeout: 10_000 });
    ca = readFileSync(join(dir, "c.pem"));
    key = readFileSync(join(dir, "k.pem"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function tlsUpstream(t: TestContext): Promise<Served & { seen: string[] }> {
    const seen: string[] = [];
    const server = createHttpsServer({ key, cert: ca }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.host}`);
      res.end(`secure ${req.url}`);
    });
    return { ...(await listen(t, server, "https")), seen };
  }

  it("talks HTTPS to a server its CA vouches for, by name and by IP, keeping the connection", T, async (t) => {
    const up = await tlsUpstream(t);
    const agent = agentFor(t, { connectMs: 1000, tls: { ca } });
    const byName = `https://localhost:${up.port}`;
    const res = await agent.request(byName, "/v1/models", opts());
    assert.equal(res.status, 200);
    assert.equal(await text(res.body), "secure /v1/models");
    assert.equal(await text((await agent.request(byName, "/again", opts())).body), "secure /again");
    assert.deepEqual(agent.stats(byName), { open: 1, idle: 1 });
    assert.equal(up.sockets.length, 1);
    assert.equal(await text((await agent.request(up.origin, "/by-ip", opts())).body), "secure /by-ip");
    assert.deepEqual(up.seen, [`GET /v1/models localhost:${up.port}`, `GET /again localhost:${up.port}`, `GET /by-ip 127.0.0.1:${up.port}`]);
  });

  it("times the answer's head from the end of the handshake: a slow one is connectMs's business", T, async (t) => {
    const up = await tlsUpstream(t);
    // A relay that holds the client's first bytes (its ClientHello) for 300 ms.
    const relay = await listen(
      t,
      createNetServer((c) => {
        const u = netConnect(up.port, "127.0.0.1");
        u.on("error", () => {});
        c.once("close", () => u.destroy());
        setTimeout(() => {
          c.pipe(u);
          u.pipe(c);
        }, 300);
      }),
    );
    const agent = agentFor(t, { connectMs: 2000, tls: { ca } });
    const res = await agent.request(`https://localhost:${relay.port}`, "/slow-handshake", opts({ headersTimeoutMs: 150 }));
    assert.equal(await text(res.body), "secure /slow-handshake");
  });

  it("gives up a TLS handshake that doesn't finish within connectMs, a failure send.ts names connect", T, async (t) => {
    const silent = await rawUpstream(t, () => {}); // accepts the TCP connection, never speaks TLS
    const agent = agentFor(t, { connectMs: 100, tls: { ca } });
    const origin = `https://127.0.0.1:${silent.port}`;
    const start = Date.now();
    const err = await agent.request(origin, "/", opts({ headersTimeoutMs: 2000 })).then(
      () => assert.fail("answered"),
      (e: unknown) => e,
    );
    assert.equal(codeOf(err), "KP_H1_CONNECT_TIMEOUT");
    assert.ok(Date.now() - start < 1500);
    assert.equal(failureOf(err), "connect");
    await closed(silent.sockets[0]!);
    assert.deepEqual(agent.stats(origin), { open: 0, idle: 0 });
  });

  it("refuses a certificate it can't verify, a failure send.ts names reset", T, async (t) => {
    const up = await tlsUpstream(t);
    const agent = agentFor(t, { connectMs: 1000 });
    const origin = `https://localhost:${up.port}`;
    const err = await agent.request(origin, "/", opts()).then(
      () => assert.fail("answered"),
      (e: unknown) => e,
    );
    assert.match(String(codeOf(err)), /CERT/);
    assert.equal(failureOf(err), "reset");
    assert.deepEqual(up.seen, []);
    assert.deepEqual(agent.stats(origin), { open: 0, idle: 0 });
  });
});
