/**
 * Bad input at a `keypool serve` process on SQLite: malformed JSON and wrong
 * types (hand-picked and generated), huge bodies and headers, HTTP garbage,
 * unknown routes, wrong methods, bad tokens, admin input out of shape, slow
 * senders, and thousands of wrong tokens at once. Each gets a clear
 * OpenAI-shaped 4xx; the process never falls over; nothing stored changes
 * and nothing reaches the upstream; valid traffic goes on during the brute
 * force and memory stays bounded.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { ImportReport } from "../../src/gateway/keys-import.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { Figures } from "./lib/figures.ts";
import { adminJson, adminToken, captureOutput, kill, proofKey, sdk, serve, sleep, within, type Gw } from "./lib/gateway.ts";
import { LeakScan } from "./lib/leaks.ts";
import { Load } from "./lib/load.ts";

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** Sends raw bytes on a fresh connection; resolves with the first answer (or "" when the server closed without one). */
function raw(port: number, data: string | Buffer | ((socket: import("node:net").Socket) => void), waitMs = 4000): Promise<Answer & { ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect(port, "127.0.0.1");
    let out = "";
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const [head = "", ...rest] = out.split("\r\n\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.split("\r\n").slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status, body: rest.join("\r\n\r\n"), headers, ms: performance.now() - t0 });
    };
    const timer = setTimeout(done, waitMs);
    socket.on("data", (d) => {
      out += d.toString();
      if (/\r\n\r\n/.test(out)) {
        const m = /content-length: (\d+)/i.exec(out);
        if (m !== null && Buffer.byteLength(out.split("\r\n\r\n").slice(1).join("\r\n\r\n")) >= Number(m[1])) done();
      }
    });
    socket.on("close", done);
    socket.on("error", () => undefined);
    if (typeof data === "function") data(socket);
    else socket.write(data);
  });
}

/** A clear OpenAI-shaped 4xx: status in range, JSON error with a message, a type and a code. */
function assertClear(a: Answer, what: string, status?: number | readonly number[], code?: string): void {
  const want = status === undefined ? null : Array.isArray(status) ? status : [status];
  assert.ok(a.status >= 400 && a.status < 500, `${what}: a 4xx, got ${a.status} ${a.body.slice(0, 200)}`);
  if (want !== null) assert.ok(want.includes(a.status), `${what}: ${want.join("/")} expected, got ${a.status} ${a.body.slice(0, 200)}`);
  let parsed: { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } };
  try {
    parsed = JSON.parse(a.body) as typeof parsed;
  } catch {
    assert.fail(`${what}: the body is not JSON: ${a.body.slice(0, 200)}`);
  }
  const e = parsed.error;
  assert.ok(e !== undefined, `${what}: an error object`);
  assert.ok(typeof e.message === "string" && e.message.length > 0, `${what}: a message`);
  assert.ok(typeof e.type === "string" && typeof e.code === "string", `${what}: a type and a code`);
  assert.ok(e.param === null || typeof e.param === "string", `${what}: param null or a field name`);
  if (code !== undefined) assert.equal(e.code, code, `${what}: ${a.body.slice(0, 200)}`);
}

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN) / 1024;

describe("bad input at the gateway", () => {
  const fig = new Figures("gateway-input", 5, "Bad input at the gateway");
  const leaks = new LeakScan();
  const dir = tempDir("keypool-proof-input-");
  const ADMIN = adminToken();
  const spec = `sqlite:${dir.file()}`;
  let sim: Simulator;
  let gw: Gw;
  let token = "";
  let revoked = "";
  let expired = "";
  const keys = [proofKey("input1"), proofKey("input2")];
  let tried = 0;
  let valid = 0;

  const call = async (what: string, path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Answer> => {
    const { auth, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (auth !== undefined && auth !== null) headers.set("authorization", auth);
    let res: Response;
    try {
      res = await fetch(`${gw.url}${path}`, { ...rest, headers, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message} (${((err as Error).cause as Error | undefined)?.message ?? "no cause"})`, { cause: err });
    }
    const body = await leaks.body(what, res);
    tried++;
    return { status: res.status, body, headers: Object.fromEntries(res.headers) };
  };

  /** What the store holds that bad input must not change. */
  async function snapshot(): Promise<string> {
    const store = await openStore(spec);
    try {
      const creds = (await store.credentials.list()).map((r) => [r.id, r.state, r.rev, r.reason, r.label, r.weight, r.models]).sort();
      const tokens = (await store.tokens.list()).map((t) => [t.id, t.usedTokens, t.revokedAt, t.expiresAt, t.lastUsedAt]);
      const events = (await store.events.query({ limit: 10_000 })).map((e) => e.id);
      const usage = await store.usage.query({});
      const convs = await store.conversations.list({});
      return JSON.stringify({ creds, tokens, events, usage, convs });
    } finally {
      await store.close();
    }
  }

  before(async () => {
    sim = await startSimulator({ keys: Object.fromEntries(keys.map((k) => [k, "ok"])) });
    leaks.secrets("upstream key", keys);
    leaks.secret("admin token", ADMIN);
    const config = dir.file("gateway.json");
    writeFileSync(config, JSON.stringify({ headersTimeoutMs: 1000, requestTimeoutMs: 1500, maxBodyBytes: "64kb" }));
    gw = await serve("gateway under bad input", ["--store", spec, "--health-interval", "0", "--config", config], { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_ADMIN_TOKEN: ADMIN });
    const added = await adminJson<ImportReport>(gw, ADMIN, "/admin/keys", { method: "POST", body: JSON.stringify({ keys }) });
    assert.equal(added.added, keys.length);
    const mk = async (body: Record<string, unknown>): Promise<{ id: string; token: string }> => adminJson(gw, ADMIN, "/admin/tokens", { method: "POST", body: JSON.stringify(body) });
    token = (await mk({ name: "valid" })).token;
    const r = await mk({ name: "to revoke" });
    revoked = r.token;
    await adminJson(gw, ADMIN, `/admin/tokens/${r.id}`, { method: "DELETE" });
    expired = (await mk({ name: "short-lived", expiresAt: Date.now() + 1500 })).token;
    for (const t of [token, revoked, expired]) leaks.secret("client token", t);
    // Something stored of every kind: usage, an audit trail.
    assert.ok((await sdk(gw, token).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] })).id);
    await sleep(1600); // the short-lived token is expired now
  });

  after(async () => {
    if (gw !== undefined) {
      await kill(gw, "SIGTERM");
      captureOutput(leaks, gw);
    }
    await sim?.close();
    dir.remove();
    leaks.check(fig);
    fig.badInputs(tried);
    fig.sent(tried + valid);
    fig.save();
  });

  it("answers every malformed request with a clear OpenAI-shaped 4xx; nothing stored changes, nothing reaches the upstream", async (t) => {
    const stored = await snapshot();
    const upstreamBefore = sim.requests().length;
    const bearer = `Bearer ${token}`;
    const post = (what: string, body: BodyInit, path = "/v1/chat/completions", headers: Record<string, string> = { "content-type": "application/json" }) => call(what, path, { method: "POST", body, headers, auth: bearer });

    // Bodies that are not JSON, or not the JSON a route takes.
    const bad: [string, BodyInit, string?][] = [
      ["empty body", ""],
      ["truncated JSON", '{"model":"gpt-4o-mini","messages":['],
      ["trailing garbage", '{"model":"gpt-4o-mini"} trailing'],
      ["single quotes", "{'model': 'gpt-4o-mini'}"],
      ["an array", "[]"],
      ["a string", '"hello"'],
      ["a number", "42"],
      ["null", "null"],
      ["model a number", '{"model":42,"messages":[]}', "model"],
      ["model an object", '{"model":{"name":"x"},"messages":[]}', "model"],
      ["stream a string", '{"model":"gpt-4o-mini","stream":"yes","messages":[]}', "stream"],
      ["stream a number", '{"model":"gpt-4o-mini","stream":1,"messages":[]}', "stream"],
      ["stream_options a number", '{"model":"gpt-4o-mini","stream":true,"stream_options":5,"messages":[]}', "stream_options"],
      ["stream_options an array", '{"model":"gpt-4o-mini","stream":true,"stream_options":[],"messages":[]}', "stream_options"],
      ["deep nesting", "[".repeat(30_000)],
      ["a NUL byte", '{"model":"gpt\u0000"'],
    ];
    for (const [what, body, param] of bad) {
      const a = await post(what, body);
      assertClear(a, what, 400, "KP_INVALID_INPUT");
      if (param !== undefined) assert.equal((JSON.parse(a.body) as { error: { param: string } }).error.param, param, `${what}: names the field`);
    }
    for (const path of ["/v1/completions", "/v1/embeddings", "/v1/responses"]) assertClear(await post(`not JSON to ${path}`, "{nope", path), path, 400);

    // Generated: any text that is not a JSON object, any JSON value that is not an object, any object with a non-string model.
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }).filter((s) => {
            try {
              const v: unknown = JSON.parse(s);
              return typeof v !== "object" || v === null || Array.isArray(v);
            } catch {
              return true;
            }
          }),
          fc.jsonValue({ maxDepth: 4 }).filter((v) => typeof v !== "object" || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
          fc.record({ model: fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.integer())), messages: fc.constant([]) }).map((v) => JSON.stringify(v)),
        ),
        async (body) => assertClear(await post("generated body", body), `generated body ${JSON.stringify(body).slice(0, 80)}`, 400, "KP_INVALID_INPUT"),
      ),
      { numRuns: 150 },
    );

    // Too big: declared, chunked, and a lying length.
    const big = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(70_000) }] });
    assertClear(await post("70 KB body (64 KB limit)", big), "big body", 413, "KP_BODY_TOO_LARGE");
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode("x".repeat(5000)));
        c.close();
      },
    });
    assertClear(await call("chunked 100 KB body", "/v1/chat/completions", { method: "POST", body: chunked, duplex: "half", auth: bearer } as RequestInit & { auth: string }), "chunked big body", 413, "KP_BODY_TOO_LARGE");
    tried += 0;
    const lying = await raw(gw.port, `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: ${bearer}\r\ncontent-type: application/json\r\ncontent-length: 1000000000000\r\n\r\n{}`);
    tried++;
    assertClear(lying, "a terabyte declared", 413, "KP_BODY_TOO_LARGE");

    // Headers, request lines and framing node:http refuses before any handler.
    const rawCases: [string, string, number][] = [
      ["40 KB header", `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(40_000)}\r\n\r\n`, 431],
      ["3000 headers", `GET /healthz HTTP/1.1\r\nhost: x\r\n${Array.from({ length: 3000 }, (_, i) => `x-h${i}: v`).join("\r\n")}\r\n\r\n`, 431],
      ["40 KB URL", `GET /v1/models?${"q".repeat(40_000)} HTTP/1.1\r\nhost: x\r\n\r\n`, 431],
      ["not HTTP", "GARBAGE GARBAGE\r\n\r\n", 400],
      ["bad content-length", "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n", 400],
      ["length and chunked at once", "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", 400],
      ["bad chunk framing", "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400],
      ["header without a colon", "GET /healthz HTTP/1.1\r\nhost: x\r\nnocolon\r\n\r\n", 400],
      ["control character in a header", "GET /healthz HTTP/1.1\r\nhost: x\r\nx-bad: a\u0001b\r\n\r\n", 400],
      ["HTTP/9.9", "GET /healthz HTTP/9.9\r\nhost: x\r\n\r\n", 400],
    ];
    for (const [what, text, status] of rawCases) {
      const a = await raw(gw.port, text);
      tried++;
      leaks.add(what, a.body);
      assertClear(a, what, status);
    }
    const connectMethod = await raw(gw.port, "CONNECT 127.0.0.1:22 HTTP/1.1\r\nhost: 127.0.0.1:22\r\n\r\n", 1500);
    tried++;
    assert.ok(connectMethod.status === 0 || (connectMethod.status >= 400 && connectMethod.status < 500), `CONNECT refused (${connectMethod.status})`);

    // Unknown routes and wrong methods (and a key sent whole in a path: never echoed).
    const stranger = proofKey("stranger");
    leaks.secret("a key not in the pool", stranger);
    const routes: [string, string, string, string | null, number, string?][] = [
      ["unknown top-level path", "GET", "/nope", null, 404, "KP_ROUTE_NOT_FOUND"],
      ["/v2", "GET", "/v2/models", null, 404],
      ["/v1 without slash", "GET", "/v1", null, 404],
      ["dot segments to admin", "GET", "/v1/../admin/keys", "Bearer wrong", 401],
      ["double slash", "GET", "//admin/keys", `Bearer ${ADMIN}`, 404],
      ["unknown admin path", "GET", "/admin/nope", `Bearer ${ADMIN}`, 404, "KP_ROUTE_NOT_FOUND"],
      ["bad percent-encoding in an admin path", "GET", "/admin/keys/%E0%A4%A", `Bearer ${ADMIN}`, 404],
      ["a key that does not exist", "GET", "/admin/keys/key_nope", `Bearer ${ADMIN}`, 404, "KP_NOT_FOUND"],
      ["a whole key that is not in the pool", "DELETE", `/admin/keys/${stranger}`, `Bearer ${ADMIN}`, 404, "KP_NOT_FOUND"],
      ["POST /healthz", "POST", "/healthz", null, 404],
      ["DELETE /metrics", "DELETE", "/metrics", null, 404],
      ["GET /admin/keys/probe", "GET", "/admin/keys/probe", `Bearer ${ADMIN}`, 405, "KP_METHOD_NOT_ALLOWED"],
      ["DELETE /admin/tokens", "DELETE", "/admin/tokens", `Bearer ${ADMIN}`, 405],
      ["PATCH /admin/events", "PATCH", "/admin/events", `Bearer ${ADMIN}`, 405],
      ["PUT /admin/keys", "PUT", "/admin/keys", `Bearer ${ADMIN}`, 405],
      ["GET /v1/chat/completions without a token", "GET", "/v1/chat/completions", null, 401],
    ];
    for (const [what, method, path, auth, status, code] of routes) {
      const a = await raw(gw.port, `${method} ${path} HTTP/1.1\r\nhost: x\r\n${auth === null ? "" : `authorization: ${auth}\r\n`}content-length: 0\r\n\r\n`);
      tried++;
      leaks.add(what, a.body);
      assertClear(a, what, status, code);
      if (status === 405) assert.ok((a.headers.allow ?? "").length > 0, `${what}: says which methods it takes`);
    }

    // Bad tokens: on /v1 (401 each), and on /admin (401, or 403 for a client token).
    const tokenCases: [string, string | null, string][] = [
      ["no token", null, "KP_TOKEN_MISSING"],
      ["Basic auth", "Basic dXNlcjpwYXNz", "KP_TOKEN_MISSING"],
      ["empty bearer", "Bearer ", "KP_TOKEN_MISSING"],
      ["bearer of spaces", "Bearer      ", "KP_TOKEN_MISSING"],
      ["a wrong token", "Bearer kp-wrong-0000000000000000000000000000000000000", "KP_TOKEN_INVALID"],
      ["the valid token one character off", `Bearer ${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`, "KP_TOKEN_INVALID"],
      ["the valid token with a suffix", `Bearer ${token}x`, "KP_TOKEN_INVALID"],
      ["a 10 KB token", `Bearer ${"k".repeat(10_000)}`, "KP_TOKEN_INVALID"],
      ["a non-ASCII token", "Bearer kp-ünïcødé-token-ü", "KP_TOKEN_INVALID"],
      ["the admin token as a client token", `Bearer ${ADMIN}`, "KP_TOKEN_INVALID"],
      ["a revoked token", `Bearer ${revoked}`, "KP_TOKEN_REVOKED"],
      ["an expired token", `Bearer ${expired}`, "KP_TOKEN_EXPIRED"],
    ];
    for (const [what, auth, code] of tokenCases) {
      const headers: Record<string, string> = auth === null ? {} : { authorization: auth };
      const a = await call(`/v1/models with ${what}`, "/v1/models", { headers: new Headers(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("latin1")])) });
      assertClear(a, `/v1 with ${what}`, 401, code);
      const chat = await call(`chat with ${what}`, "/v1/chat/completions", { method: "POST", body: '{"model":"gpt-4o-mini","messages":[]}', headers: new Headers(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("latin1")])) });
      assertClear(chat, `chat with ${what}`, 401, code);
    }
    const adminCases: [string, string | null, number, string][] = [
      ["no token", null, 401, "KP_ADMIN_TOKEN_MISSING"],
      ["a wrong token", "Bearer not-the-admin-token-0000000000", 401, "KP_ADMIN_TOKEN_INVALID"],
      ["the admin token one character off", `Bearer ${ADMIN.slice(0, -1)}x`, 401, "KP_ADMIN_TOKEN_INVALID"],
      ["a client token", `Bearer ${token}`, 403, "KP_ADMIN_TOKEN_INVALID"],
      ["an expired client token", `Bearer ${expired}`, 403, "KP_ADMIN_TOKEN_INVALID"],
      ["Basic auth", "Basic YWRtaW46YWRtaW4=", 401, "KP_ADMIN_TOKEN_MISSING"],
    ];
    for (const [what, auth, status, code] of adminCases) {
      for (const [method, path] of [["GET", "/admin/keys"], ["POST", "/admin/tokens"], ["DELETE", `/admin/keys/${credentialId(keys[0]!)}`]] as const) {
        const a = await call(`${method} ${path} with ${what}`, path, { method, ...(method === "POST" ? { body: '{"name":"sneaky"}' } : {}), ...(auth === null ? {} : { auth }) });
        assertClear(a, `${method} ${path} with ${what}`, status, code);
      }
    }

    // Admin input out of shape: a 400 naming the field.
    const A = `Bearer ${ADMIN}`;
    const adminBad: [string, string, string, string | undefined, string | null][] = [
      ["keys not an array", "POST", "/admin/keys", '{"keys":"sk-x"}', "keys"],
      ["an unknown field", "POST", "/admin/keys", '{"keys":[],"nope":1}', null],
      ["not JSON", "POST", "/admin/keys", "{keys:", null],
      ["weight a string", "PATCH", `/admin/keys/${credentialId(keys[0]!)}`, '{"weight":"heavy"}', "weight"],
      ["a negative rpm", "PATCH", `/admin/keys/${credentialId(keys[0]!)}`, '{"rpm":-5}', "rpm"],
      ["a baseURL that is not http", "PATCH", `/admin/keys/${credentialId(keys[0]!)}`, '{"baseURL":"file:///etc/passwd"}', "baseURL"],
      ["an empty token name", "POST", "/admin/tokens", '{"name":"   "}', "name"],
      ["an expiry in the past", "POST", "/admin/tokens", '{"name":"x","expiresAt":"2001-01-01"}', "expiresAt"],
      ["an expiry that is no date", "POST", "/admin/tokens", '{"name":"x","expiresAt":"someday"}', "expiresAt"],
      ["a note too long", "POST", `/admin/keys/${credentialId(keys[0]!)}/disable`, JSON.stringify({ note: "n".repeat(600) }), "note"],
      ["an unknown usage grouping", "GET", "/admin/usage?groupBy=bogus", undefined, "groupBy"],
      ["a usage time that is no time", "GET", "/admin/usage?from=yesterday", undefined, "from"],
      ["a negative event limit", "GET", "/admin/events?limit=-1", undefined, "limit"],
      ["an unknown state", "GET", "/admin/keys?state=zombie", undefined, "state"],
      ["an unknown query field", "GET", "/admin/keys?secret=1", undefined, null],
    ];
    for (const [what, method, path, body, param] of adminBad) {
      const a = await call(`admin: ${what}`, path, { method, ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }), auth: A });
      assertClear(a, `admin: ${what}`, 400);
      if (param !== null) assert.equal((JSON.parse(a.body) as { error: { param: string | null } }).error.param, param, `admin: ${what}: names the field: ${a.body}`);
    }
    const lines = await call("admin: import lines, some broken", "/admin/keys", { method: "POST", body: "short\nnot a key at all\n{\"secret\":\"x\"}\n", headers: { "content-type": "text/plain" }, auth: A });
    assert.equal(lines.status, 200, lines.body);
    assert.deepEqual((JSON.parse(lines.body) as ImportReport).results.map((r) => [r.line, r.status]), [[1, "malformed"], [2, "malformed"], [3, "malformed"]]);

    // Still up, still serving; the store and the upstream saw none of it.
    assert.equal(gw.child.exitCode, null, "the gateway process is alive");
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    assert.equal(await snapshot(), stored, "nothing stored changed");
    assert.equal(sim.requests().length, upstreamBefore, "nothing reached the upstream");

    // Invalid UTF-8 inside a JSON string: the gateway reads it as U+FFFD (so it can never match a model a token allows)
    // and passes the bytes on as they came; the upstream refuses it, and that 4xx comes back as it was.
    const utf8 = await post("invalid UTF-8 in a string", Buffer.from([...Buffer.from('{"messages":[],"x":"'), 0xff, 0xfe, ...Buffer.from('"}')]));
    assertClear(utf8, "invalid UTF-8 in a string", 400);
    assert.equal(await snapshot(), stored, "nothing stored changed");
    t.diagnostic(`${tried} bad requests, each a clear 4xx; the store and the upstream untouched`);
    fig.fault("malformed, mistyped, oversized, unrouted, unauthorised requests");
    fig.errors(tried, "clear 4xx, as meant");
  });

  it("cuts slow senders off in time, and serves others meanwhile", async (t) => {
    const stored = await snapshot();
    // Headers that never end: 408 once the header timeout (1 s) passes.
    const slowHeaders = raw(gw.port, "GET /healthz HTTP/1.1\r\nhost: x\r\n", 6000);
    // A body trickled a byte at a time, never finished: 408 at the request timeout (1.5 s).
    const trickle = raw(
      gw.port,
      (socket) => {
        socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
        const timer = setInterval(() => (socket.writable ? socket.write(" ") : clearInterval(timer)), 100);
        socket.on("close", () => clearInterval(timer));
      },
      6000,
    );
    // Twenty slowloris connections at once.
    const loris = Array.from({ length: 20 }, () =>
      raw(
        gw.port,
        (socket) => {
          socket.write("GET /healthz HTTP/1.1\r\n");
          const timer = setInterval(() => (socket.writable ? socket.write("x-a: b\r\n") : clearInterval(timer)), 200);
          socket.on("close", () => clearInterval(timer));
        },
        6000,
      ),
    );
    const client = sdk(gw, token);
    const served: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `meanwhile ${i}` }] });
      served.push(performance.now() - t0);
      valid++;
      await sleep(50);
    }
    const [h, b, ...l] = await Promise.all([slowHeaders, trickle, ...loris]);
    tried += 22;
    assertClear(h!, "headers never finished", 408);
    assertClear(b!, "body trickled", 408);
    assert.ok(h!.ms < 3500 && b!.ms < 4000, `cut off after ${h!.ms.toFixed(0)} and ${b!.ms.toFixed(0)} ms`);
    for (const a of l) assert.ok(a.ms < 4000 && (a.status === 408 || a.status === 431 || a.status === 0), `slowloris cut (${a.status} after ${a.ms.toFixed(0)} ms)`);
    assert.ok(Math.max(...served) < 2000, `served meanwhile, slowest ${Math.max(...served).toFixed(0)} ms`);
    // The valid calls above were metered: compare everything but usage and the token's count.
    const strip = (s: string) => {
      const o = JSON.parse(s) as { usage: unknown; tokens: unknown[][]; creds: unknown };
      return JSON.stringify({ creds: o.creds, tokens: o.tokens.map((x) => [x[0], x[2], x[3]]) });
    };
    assert.equal(strip(await snapshot()), strip(stored));
    fig.timing("slow senders cut off (timeouts 1 and 1.5 s)", Math.max(h!.ms, b!.ms));
    fig.fault("slow senders");
    fig.errors(22, "408 or a closed connection for slow senders");
    t.diagnostic(`slow headers cut after ${h!.ms.toFixed(0)} ms, trickled body after ${b!.ms.toFixed(0)} ms, 20 slowloris within ${Math.max(...l.map((a) => a.ms)).toFixed(0)} ms; 10 calls served meanwhile, slowest ${Math.max(...served).toFixed(0)} ms`);
  });

  it("answers 401 to thousands of wrong tokens, keeps serving valid traffic, and keeps its memory bounded", async (t) => {
    const client = sdk(gw, token);
    const timed = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `valid ${i}` }] });
        out.push(performance.now() - t0);
      }
      return out;
    };
    const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    await timed(20); // warm
    const quiet = await timed(40);
    const rssBefore = rssMb(gw.pid);
    const WRONG = 5000;
    const load = new Load(WRONG);
    let statusOk = 0;
    const wrongToken = (i: number): string => {
      const kind = i % 4;
      if (kind === 0) return `kp-${randomBytes(32).toString("base64url")}`; // a token's shape
      if (kind === 1) return `${token.slice(0, 20)}${randomBytes(16).toString("base64url")}`; // the real token's prefix
      if (kind === 2) return randomBytes(1 + (i % 200)).toString("hex"); // any length
      return `sk-${randomBytes(24).toString("hex")}`; // an upstream key's shape
    };
    for (let w = 0; w < 40; w++) {
      load.worker("wrong", async (i) => {
        const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${wrongToken(w * 10_000 + i)}` } });
        await res.arrayBuffer();
        if (res.status === 401) statusOk++;
        return 0;
      });
    }
    const t0 = performance.now();
    const during = await timed(40);
    await within(load.done(), 60_000);
    const bruteMs = performance.now() - t0;
    const rssAfter = rssMb(gw.pid);
    tried += load.calls.length;
    assert.equal(load.failed().length, 0);
    assert.equal(statusOk, load.calls.length, "every wrong token got 401");
    const slowdown = p50(during) / p50(quiet);
    t.diagnostic(
      `${load.calls.length} wrong tokens in ${bruteMs.toFixed(0)} ms (${((load.calls.length / bruteMs) * 1000).toFixed(0)}/s), all 401; valid calls p50 ${p50(quiet).toFixed(1)} ms quiet, ${p50(during).toFixed(1)} ms during (×${slowdown.toFixed(1)}); RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`,
    );
    assert.ok(p50(during) < Math.max(250, p50(quiet) * 25), "valid traffic served throughout, not starved");
    assert.ok(rssAfter - rssBefore < 150, `memory bounded: RSS grew ${(rssAfter - rssBefore).toFixed(0)} MB`);
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    fig.fault(`${load.calls.length} wrong tokens from 40 connections`);
    fig.errors(load.calls.length, "401 for wrong tokens (0 errors for valid calls)");
    fig.timing("valid call p50, quiet", p50(quiet));
    fig.timing("valid call p50, under the brute force", p50(during));
    fig.note(`brute force: ${load.calls.length} wrong tokens at ${((load.calls.length / bruteMs) * 1000).toFixed(0)}/s, all 401; valid calls ×${slowdown.toFixed(1)} slower at p50 meanwhile; RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`);
    valid += quiet.length + during.length + 20;
  });
});
