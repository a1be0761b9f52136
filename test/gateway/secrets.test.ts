/** No whole secret leaves the gateway: not in logs, error answers, admin output or metrics. */
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

describe("secrets", () => {
  const ECHO = key("echo");
  let upstream: Server;
  let pool: Pool;
  let gw: Gateway;
  const log = new LogCapture();
  before(async () => {
    // An upstream (a careless relay) that echoes the key it was sent in its error messages.
    upstream = createServer((req, res) => {
      const auth = req.headers.authorization ?? "";
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `bad request with key ${auth.slice(7)}`, type: "invalid_request_error", param: null, code: null } }));
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    pool = await createPool({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, keys: [ECHO], health: false });
    gw = await startGateway({ host: "127.0.0.1", port: 0, adminToken: ADMIN }, { pool, logger: createLogger({ level: "debug", destination: log.destination }), defaultMetrics: false });
  });
  after(async () => {
    await gw.close(100);
    await pool.close();
    await new Promise((r) => upstream.close(r));
  });

  it("masks a key an upstream echoes in an error answer", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [] }) });
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.ok(!text.includes(ECHO), text);
    assert.match(text, /bad request with key sk-echo-…0001/);
  });

  it("never writes a whole key, client token or admin token in logs, admin answers or metrics", async () => {
    const created = (await (await fetch(`${gw.url}/admin/tokens`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify({ name: "t" }) })).json()) as { token: string };
    const token = created.token;
    await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [] }) });
    await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${token}x` } });
    const outputs = [
      await (await fetch(`${gw.url}/admin/keys/${ECHO}`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
      await (await fetch(`${gw.url}/admin/keys/${ECHO}/nope`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
      await (await fetch(`${gw.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
      await (await fetch(`${gw.url}/admin/tokens`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
      await (await fetch(`${gw.url}/admin/events`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
      await (await fetch(`${gw.url}/admin/stats`, { headers: { authorization: `Bearer ${ADMIN}` } })).text(),
      await (await fetch(`${gw.url}/metrics`)).text(),
    ];
    await new Promise((r) => setTimeout(r, 50));
    const logs = log.text();
    assert.ok(logs.includes('"msg":"request"'), "request lines were logged");
    for (const [what, text] of [...outputs.map((o, i) => [`output ${i}`, o] as const), ["logs", logs] as const]) {
      for (const secret of [ECHO, token, ADMIN]) assert.ok(!text.includes(secret), `${what} holds a secret`);
    }
  });
});
