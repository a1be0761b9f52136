/** Safe defaults: body and header limits, slow senders, where the gateway agrees to listen; the configuration's precedence and errors. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { resolveGatewayConfig } from "../../src/config/gateway-config.ts";
import { KeypoolError } from "../../src/errors/index.ts";
import { issueToken, startGateway } from "../../src/gateway/index.ts";
import { createPool } from "../../src/create-pool.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { ADMIN, harness, key, type Harness } from "./helpers.ts";

function rawRequest(port: number, text: string, waitMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, waitMs);
    socket.on("data", (d) => (out += d.toString()));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on("error", reject);
    socket.write(text);
  });
}

describe("request limits", () => {
  let h: Harness;
  before(async () => {
    h = await harness({ [key("ok")]: "ok" }, { gateway: { maxBodyBytes: 2048, headersTimeoutMs: 1000, requestTimeoutMs: 1500 } });
  });
  after(() => h.close());

  it("refuses bodies over the limit with 413 in OpenAI's shape, declared or streamed", async () => {
    const big = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(5000) }] });
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    assert.equal(res.status, 413);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "KP_BODY_TOO_LARGE");
    assert.match(body.error.message, /2048 bytes/);
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(500)));
        c.close();
      },
    });
    const res2 = await fetch(`${h.gw.url}/v1/chat/completions`, { method: "POST", body: chunked, duplex: "half" } as RequestInit);
    assert.equal(res2.status, 413);
    assert.equal(h.sim.requests().length, 0, "nothing reached the upstream");
  });

  it("answers 431 for oversized headers and 408 for a sender too slow with its headers", async () => {
    const huge = await rawRequest(h.gw.port, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(40_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1.1 431/);
    assert.match(huge, /"type":"invalid_request_error"/);
    const t0 = Date.now();
    const slow = await rawRequest(h.gw.port, "GET /healthz HTTP/1.1\r\nhost: x\r\n", 4000);
    assert.match(slow, /^HTTP\/1.1 408/);
    assert.ok(Date.now() - t0 < 3500);
  });
});

describe("where the gateway listens", () => {
  it("refuses a non-loopback address without a client token and an admin token", async () => {
    const pool = await createPool({ health: false, upstream: "http://127.0.0.1:9/v1" });
    try {
      await assert.rejects(
        startGateway({ host: "0.0.0.0", port: 0 }, { pool, logger: silentLogger(), defaultMetrics: false }),
        (err: unknown) => KeypoolError.is(err) && err.code === "KP_CONFIG" && /refusing to listen on 0\.0\.0\.0/.test(err.message) && /admin token/.test(err.message) && /client token/.test(err.message),
      );
      await assert.rejects(startGateway({ host: "0.0.0.0", port: 0, adminToken: ADMIN }, { pool, logger: silentLogger(), defaultMetrics: false }), /client token/);
      await issueToken(pool.store, { name: "remote" });
      const gw = await startGateway({ host: "0.0.0.0", port: 0, adminToken: ADMIN }, { pool, logger: silentLogger(), defaultMetrics: false });
      // Not loopback: /v1 needs a token even though one exists only in the store.
      const res = await fetch(`http://127.0.0.1:${gw.port}/v1/models`);
      assert.equal(res.status, 401);
      await gw.close(100);
    } finally {
      await pool.close();
    }
  });
});

describe("configuration", () => {
  const dir = tempDir("keypool-config-");
  after(() => dir.remove());

  it("takes flags over the environment over the config file over defaults", () => {
    const file = dir.file("c.json");
    writeFileSync(file, JSON.stringify({ port: 9001, host: "127.0.0.2", store: "memory", logLevel: "warn", maxBodyBytes: "1mb" }));
    const c = resolveGatewayConfig({ config: file, port: "9003" }, { PORT: "9002", HOST: "127.0.0.3" });
    assert.equal(c.port, 9003);
    assert.equal(c.host, "127.0.0.3");
    assert.equal(c.store, "memory");
    assert.equal(c.logLevel, "warn");
    assert.equal(c.maxBodyBytes, 1024 * 1024);
    const d = resolveGatewayConfig({}, {});
    assert.deepEqual([d.port, d.host, d.store, d.maxBodyBytes], [8787, "127.0.0.1", "sqlite:./keypool.db", 10 * 1024 * 1024]);
    const k = resolveGatewayConfig({}, { KEYPOOL_KEYS: `${key("a")}, ${key("b")}` });
    assert.deepEqual(k.keys, [key("a"), key("b")]);
  });

  it("names the bad field and where it came from, never echoing a secret", () => {
    assert.throws(() => resolveGatewayConfig({}, { PORT: "eighty" }), /port: must be an integer from 0 to 65535, got "eighty" \(from env PORT\)/);
    assert.throws(() => resolveGatewayConfig({ port: "70000" }, {}), /\(from flag --port\)/);
    const file = dir.file("bad.json");
    writeFileSync(file, JSON.stringify({ store: "postgres://x" }));
    assert.throws(() => resolveGatewayConfig({ config: file }, {}), /store: must be memory, sqlite:PATH or redis:\/\/HOST:PORT\/DB \(from config file .*bad\.json \(store\)\)/);
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    assert.throws(() => resolveGatewayConfig({ config: file }, {}), /prot: unknown field in config file/);
    writeFileSync(file, "{ nope");
    assert.throws(() => resolveGatewayConfig({ config: file }, {}), /is not valid JSON/);
    assert.throws(
      () => resolveGatewayConfig({}, { KEYPOOL_ADMIN_TOKEN: "short-secret" }),
      (err: Error) => /adminToken: the admin token must be at least 16 characters/.test(err.message) && !err.message.includes("short-secret"),
    );
    assert.throws(() => resolveGatewayConfig({}, { KEYPOOL_KEYS: `${key("a")},tiny` }), /keys: entry 2: invalid credential: secret is too short/);
  });
});
