/** Streaming respects backpressure: a client that does not read holds the upstream back, nothing piles up in the gateway. */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { startGateway, type Gateway } from "../../src/gateway/index.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { key } from "./helpers.ts";

const TOTAL = 48 * 1024 * 1024;

describe("streaming backpressure", () => {
  let upstream: Server;
  let pool: Pool;
  let gw: Gateway;
  let upstreamDoneAt = 0;
  before(async () => {
    // A fast upstream: a 48 MB event stream written as fast as its socket takes it.
    upstream = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const event = Buffer.from(`data: {"choices":[{"index":0,"delta":{"content":"${"x".repeat(65_000)}"}}]}\n\n`);
      let sent = 0;
      const pump = (): void => {
        while (sent < TOTAL) {
          sent += event.length;
          if (!res.write(event)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end("data: [DONE]\n\n", () => (upstreamDoneAt = Date.now()));
      };
      pump();
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    pool = await createPool({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, keys: [key("fast")], health: false });
    gw = await startGateway({ host: "127.0.0.1", port: 0 }, { pool, logger: silentLogger(), defaultMetrics: false });
  });
  after(async () => {
    await gw.close(100);
    await pool.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  it("holds the upstream back while the client does not read, then delivers every byte", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [], stream: true }) });
    assert.equal(res.status, 200);
    const heapBefore = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 800));
    const readingFrom = Date.now();
    assert.equal(upstreamDoneAt, 0, "the upstream could not finish while the client was not reading");
    assert.ok(process.memoryUsage().heapUsed - heapBefore < TOTAL / 2, "the gateway did not buffer the stream");
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) bytes += chunk.length;
    assert.ok(bytes > TOTAL, `got ${bytes} bytes`);
    assert.ok(upstreamDoneAt >= readingFrom);
  });
});
