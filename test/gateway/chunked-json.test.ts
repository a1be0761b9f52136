/**
 * JSON answers without a content-length (a relay that sends them chunked): collected, metered and
 * sent in one write like any JSON answer; one the upstream cuts short becomes a clear 502 instead
 * of a truncated 200; one past the 1 MB collection limit is piped whole.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { createPool } from "../../src/create-pool.ts";
import { startGateway, type Gateway } from "../../src/gateway/index.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { ADMIN, countWrites, key } from "./helpers.ts";

const answer = (content: string): string =>
  JSON.stringify({ id: "c1", object: "chat.completion", model: "gpt-4o-mini", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });

describe("JSON answers of unknown length", () => {
  let upstream: Server;
  let pool: Pool;
  let gw: Gateway;
  before(async () => {
    // A relay that streams its JSON answers in pieces (chunked encoding, no content-length).
    upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const prompt = (JSON.parse(body) as { messages: { content: string }[] }).messages[0]!.content;
        const text = prompt === "big" ? "x".repeat(1536 * 1024) : "a reply in pieces";
        const json = Buffer.from(answer(text));
        res.writeHead(200, { "content-type": "application/json" });
        const half = json.length >> 1;
        res.write(json.subarray(0, half));
        if (prompt === "cut") {
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        setTimeout(() => res.end(json.subarray(half)), 20);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    pool = await createPool({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, keys: [key("chunked")], health: false });
    gw = await startGateway({ host: "127.0.0.1", port: 0, adminToken: ADMIN }, { pool, logger: silentLogger(), defaultMetrics: false });
  });
  after(async () => {
    await gw.close(100);
    await pool.close();
    await new Promise((r) => upstream.close(r));
  });

  const post = (content: string): Promise<Response> =>
    fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }) });

  it("answers in one write after collecting it, with a content-length, and meters it", async () => {
    const writes = countWrites(gw);
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "pieces" }] });
    assert.equal(r.choices[0]!.message.content, "a reply in pieces");
    assert.equal(writes.count(), 1);
    const res = await post("pieces");
    assert.equal(res.headers.get("content-length"), String(Buffer.byteLength(answer("a reply in pieces"))));
    await res.text();
    const rows = await pool.usage({ groupBy: ["credential"] });
    assert.equal(rows[0]?.requests, 2);
  });

  it("answers 502 in OpenAI's shape when the upstream cuts the answer short, never a truncated 200", async () => {
    const res = await post("cut");
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "KP_UPSTREAM");
    assert.match(body.error.message, /the upstream's answer (was cut short|failed) after \d+ bytes/);
  });

  it("pipes one past the 1 MB collection limit, whole", async () => {
    const res = await post("big");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), null, "piped: its length was not known");
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    assert.equal(body.choices[0]!.message.content.length, 1536 * 1024);
  });
});

describe("a JSON answer cut short with another key in the pool", () => {
  let upstream: Server;
  let pool: Pool;
  let gw: Gateway;
  const CUTTER = key("cutter");
  let cuts = 0;
  before(async () => {
    // Every answer through CUTTER is cut after its first half; the other key answers whole.
    upstream = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const json = Buffer.from(answer("whole"));
        res.writeHead(200, { "content-type": "application/json", "content-length": String(json.length) });
        if (req.headers.authorization === `Bearer ${CUTTER}`) {
          cuts++;
          res.write(json.subarray(0, json.length >> 1));
          setTimeout(() => res.socket?.destroy(), 10);
        } else res.end(json);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    pool = await createPool({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, keys: [CUTTER, key("whole")], health: false, strategy: "round-robin" });
    gw = await startGateway({ host: "127.0.0.1", port: 0, adminToken: ADMIN }, { pool, logger: silentLogger(), defaultMetrics: false });
  });
  after(async () => {
    await gw.close(100);
    await pool.close();
    await new Promise((r) => upstream.close(r));
  });

  it("is asked of the other key before the client sees an error", async () => {
    const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 6; i++) {
      const r = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `q${i}` }] });
      assert.equal(r.choices[0]!.message.content, "whole");
    }
    assert.ok(cuts >= 1, "the cutting key was asked");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const failovers = Number(/keypool_failovers_total (\d+)/.exec(metrics)?.[1]);
    assert.equal(failovers, cuts, metrics.split("\n").filter((l) => l.includes("failover")).join("\n"));
  });
});
