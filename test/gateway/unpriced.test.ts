/** Usage of a model no price table knows is recorded at $0 and said once in the log, not silently. */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { startGateway, type Gateway } from "../../src/gateway/index.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { createLogger } from "../../src/util/logger.ts";
import { LogCapture } from "../helpers/log-capture.ts";
import { ADMIN, key } from "./helpers.ts";

describe("unpriced models", () => {
  let upstream: Server;
  let pool: Pool;
  let gw: Gateway;
  const log = new LogCapture();
  before(async () => {
    // A compatible relay serving a model of its own (no list price, not in gpt-tokenizer's table).
    upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const { model } = JSON.parse(body) as { model: string };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "c1", object: "chat.completion", model, choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    pool = await createPool({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, keys: [key("relay")], health: false });
    gw = await startGateway({ host: "127.0.0.1", port: 0, adminToken: ADMIN }, { pool, logger: createLogger({ level: "info", destination: log.destination }), defaultMetrics: false });
  });
  after(async () => {
    await gw.close(100);
    await pool.close();
    await new Promise((r) => upstream.close(r));
  });

  const chat = async (model: string): Promise<void> => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }) });
    assert.equal(res.status, 200);
    await res.text();
  };

  it("records the usage at $0 and warns once per model, naming it and the config field that fixes it", async () => {
    await chat("acme-large-1");
    await chat("acme-large-1");
    await chat("gpt-4o-mini");
    const warnings = log.entries().filter((l) => l.level === "warn") as { level: string; msg: string; model?: string }[];
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(warnings[0]!.model, "acme-large-1");
    assert.match(warnings[0]!.msg, /no price known for model acme-large-1: its usage is recorded at \$0.*"prices"/);
    const rows = await pool.usage({ groupBy: ["model"] });
    const acme = rows.find((r) => r.model === "acme-large-1");
    assert.deepEqual([acme?.requests, acme?.promptTokens, acme?.completionTokens, acme?.costUsd], [2, 14, 6, 0]);
    assert.ok((rows.find((r) => r.model === "gpt-4o-mini")?.costUsd ?? 0) > 0, "a listed model is priced");
  });
});
