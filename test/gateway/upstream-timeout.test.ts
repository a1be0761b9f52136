/** `--upstream-timeout`: a hanging key costs the gateway its timeout, not a minute, before failover. */
import assert from "node:assert/strict";
import { it } from "node:test";
import OpenAI from "openai";
import { resolveGatewayConfig } from "../../src/config/gateway-config.ts";
import { openGatewayPool, startGateway } from "../../src/gateway/gateway.ts";
import { startSimulator } from "../../src/sim/index.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { chat, key } from "./helpers.ts";

it("fails a hanging key over after the configured upstream timeout", async () => {
  const hang = key("timeouthang");
  const good = key("timeoutgood");
  const sim = await startSimulator({ keys: { [hang]: "hang", [good]: "ok" } });
  const config = resolveGatewayConfig({ upstreamTimeout: "300", store: "memory", strategy: "round-robin", port: "0" }, { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: `${hang},${good}` });
  assert.equal(config.upstreamTimeoutMs, 300);
  assert.equal(resolveGatewayConfig({}, { KEYPOOL_UPSTREAM_TIMEOUT_MS: "1500" }).upstreamTimeoutMs, 1500);
  assert.throws(() => resolveGatewayConfig({ upstreamTimeout: "soon" }, {}), /upstream-timeout/);
  const log = silentLogger();
  const pool = await openGatewayPool({ ...config, healthIntervalMs: 0 }, log);
  const gw = await startGateway({ ...config, healthIntervalMs: 0 }, { pool, logger: log, defaultMetrics: false });
  try {
    const client = new OpenAI({ apiKey: "local", baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 10_000 });
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      await chat(client);
      assert.ok(performance.now() - t0 < 3000, "a hanging key is given up on after the upstream timeout");
    }
    assert.ok(sim.stats(hang).requests >= 1, "the hanging key was tried");
  } finally {
    await gw.close(500);
    await pool.close();
    await sim.close();
  }
});
