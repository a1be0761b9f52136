/**
 * Bad input at a `keypool serve` process on SQLite: malformed JSON and wrong
 * types (hand-picked and generated), huge bodies and headers, HTTP garbage,
 * unknown routes, wrong methods, bad tokens, admin input out of shape. Each
 * gets a clear OpenAI-shaped 4xx; the process never falls over; nothing
 * stored changes and nothing reaches the upstream.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { ImportReport } from "../../src/gateway/keys-import.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import { Figures } from "./lib/figures.ts";
import { proofKey } from "./lib/gateway.ts";
import { inputGateway, type InputGateway } from "./lib/input-gateway.ts";
import { LeakScan } from "./lib/leaks.ts";
import { assertClear, raw } from "./lib/raw-http.ts";

describe("bad input at the gateway", () => {
  const fig = new Figures("gateway-input", 5, "Bad input at the gateway");
  const leaks = new LeakScan();
  let g: InputGateway;
  let tried = 0;

  before(async () => {
    g = await inputGateway("input", leaks);
  });

  after(async () => {
    await g?.close();
    leaks.check(fig);
    tried += g?.sent ?? 0;
    fig.badInputs(tried);
    fig.sent(tried);
    fig.save();
  });

  it("answers every malformed request with a clear OpenAI-shaped 4xx; nothing stored changes, nothing reaches the upstream", async (t) => {
    const { gw, sim, keys, token, revoked, expired, call, snapshot } = g;
    const ADMIN = g.admin;
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
    t.diagnostic(`${tried + g.sent} bad requests, each a clear 4xx; the store and the upstream untouched`);
    fig.fault("malformed, mistyped, oversized, unrouted, unauthorised requests");
    fig.errors(tried + g.sent, "clear 4xx, as meant");
  });
});
