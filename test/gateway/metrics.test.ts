/** What /metrics and the usage rollups say after traffic, checked against the simulator's own counters; /healthz. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { startGateway } from "../../src/gateway/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { chat, harness, key, type Harness } from "./helpers.ts";

function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

describe("metrics and usage", () => {
  let h: Harness;
  const A = key("a");
  const B = key("b");
  const DEAD = key("dead");
  before(async () => {
    h = await harness({ [A]: "ok", [B]: "ok", [DEAD]: "invalid" }, { pool: { strategy: "round-robin", prices: { "gpt-4o-mini": { input: 0.15, output: 0.6 } } } });
    const client = h.client();
    for (let i = 0; i < 12; i++) {
      if (i % 3 === 0) {
        const s = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `stream ${i}` }], stream: true });
        for await (const c of s) assert.ok(c);
      } else await chat(client, "gpt-4o-mini", `question number ${i}`);
    }
    await client.embeddings.create({ model: "text-embedding-3-small", input: "embed me" });
  });
  after(() => h.close());

  it("counts requests, retries, failovers, transitions, keys per state and tokens", async () => {
    const text = await (await fetch(`${h.gw.url}/metrics`)).text();
    assert.equal(metric(text, "keypool_http_requests_total", { route: "/v1/chat/completions", status: "200" }), 12);
    assert.equal(metric(text, "keypool_http_requests_total", { route: "/v1/embeddings", status: "200", credential_state: "active" }), 1);
    assert.equal(metric(text, "keypool_retries_total", { outcome: "invalid" }), 1);
    assert.equal(metric(text, "keypool_failovers_total"), 1);
    assert.equal(metric(text, "keypool_state_transitions_total", { from: "active", to: "retired" }), 1);
    assert.equal(metric(text, "keypool_credentials", { state: "active" }), 2);
    assert.equal(metric(text, "keypool_credentials", { state: "retired" }), 1);
    assert.ok(metric(text, "keypool_upstream_latency_seconds_count", { route: "/v1/chat/completions" }) === 12);
    const sim = h.sim.stats();
    const simPrompt = sim[A]!.prompt_tokens + sim[B]!.prompt_tokens;
    const simCompletion = sim[A]!.completion_tokens + sim[B]!.completion_tokens;
    assert.equal(metric(text, "keypool_tokens_metered_total", { kind: "prompt" }), simPrompt);
    assert.equal(metric(text, "keypool_tokens_metered_total", { kind: "completion" }), simCompletion);
    assert.ok(metric(text, "keypool_cost_usd_total") > 0);
    for (const k of [A, B, DEAD]) assert.ok(!text.includes(k.slice(3)), "no key in the metrics");
  });

  it("stores usage per credential that equals the simulator's per-key counters", async () => {
    const res = await h.admin("/admin/usage?groupBy=credential");
    const body = (await res.json()) as { data: { credentialId: string; requests: number; promptTokens: number; completionTokens: number; costUsd: number }[] };
    for (const k of [A, B]) {
      const row = body.data.find((r) => r.credentialId === h.pool.get(k)!.id)!;
      const s = h.sim.stats(k);
      assert.equal(row.requests, s.statuses["200"]);
      assert.equal(row.promptTokens, s.prompt_tokens);
      assert.equal(row.completionTokens, s.completion_tokens);
    }
    assert.equal(body.data.find((r) => r.credentialId === h.pool.get(DEAD)!.id), undefined);
    const byModel = (await (await h.admin("/admin/usage?groupBy=model")).json()) as { data: { model: string; costUsd: number; promptTokens: number; completionTokens: number }[] };
    const mini = byModel.data.find((r) => r.model === "gpt-4o-mini")!;
    assert.ok(Math.abs(mini.costUsd - (mini.promptTokens * 0.15 + mini.completionTokens * 0.6) / 1e6) < 1e-12);
  });
});

describe("/healthz", () => {
  it("answers 200 while the store answers, 503 when it does not", async () => {
    const store = await openStore("memory");
    const pool = await createPool({ store, health: false, upstream: "http://127.0.0.1:9/v1" });
    const gw = await startGateway({ host: "127.0.0.1", port: 0 }, { pool, logger: silentLogger(), defaultMetrics: false });
    try {
      const ok = await fetch(`${gw.url}/healthz`);
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { status: string }).status, "ok");
      await store.close();
      const down = await fetch(`${gw.url}/healthz`);
      assert.equal(down.status, 503);
    } finally {
      await gw.close(100);
      await pool.close().catch(() => {});
    }
  });
});
