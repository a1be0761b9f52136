/**
 * Answers without usage (a relay that ignores stream_options.include_usage)
 * are counted locally and charged to the client token, marked estimated,
 * instead of going free.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { harness, key, type Harness } from "./helpers.ts";

describe("usage of answers that carry none", () => {
  let h: Harness;
  const RELAY = key("relay");
  before(async () => {
    h = await harness({ [RELAY]: "ok:usage=ignored" });
  });
  after(() => h.close());

  it("counts a stream without its usage chunk with the tokenizer, charges the token and records it as estimated", async () => {
    const created = (await (await h.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: "relay-user", quotaTokens: 100_000 }) })).json()) as { id: string; token: string };
    const messages = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Tell me about the quiet signal in three sentences." },
    ];
    const s = await h.client(created.token).chat.completions.create({ model: "gpt-4o-mini", messages, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let sawUsage = false;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) sawUsage = true;
    }
    assert.ok(text.length > 0);
    assert.equal(sawUsage, false, "the relay sent no usage, and the gateway invents none for the client");

    // What the upstream would have reported: the same request to the simulator with usage on (an ok key counts the same way).
    const direct = new OpenAI({ apiKey: "sk-direct-000000000000000000000001", baseURL: `${h.sim.url}/v1`, maxRetries: 0 });
    h.sim.setKey("sk-direct-000000000000000000000001", "ok");
    const truth = await direct.chat.completions.create({ model: "gpt-4o-mini", messages });
    assert.equal(truth.choices[0]!.message.content, text, "same deterministic reply");

    const usage = (await (await h.admin(`/admin/usage?token=${created.id}`)).json()) as { total: { requests: number; promptTokens: number; completionTokens: number } };
    assert.equal(usage.total.requests, 1);
    assert.equal(usage.total.promptTokens, truth.usage!.prompt_tokens, "prompt counted as the upstream counts it");
    assert.equal(usage.total.completionTokens, truth.usage!.completion_tokens, "reply counted from the streamed deltas");
    const stored = await h.pool.store.tokens.get(created.id);
    assert.equal(stored!.usedTokens, truth.usage!.total_tokens, "the client token is charged");
    const metrics = await (await fetch(`${h.gw.url}/metrics`)).text();
    assert.match(metrics, /^keypool_usage_estimated_total 1$/m, "counted as estimated");
  });

  it("counts nothing extra for answers that carry their usage", async () => {
    h.sim.setKey(key("honest"), "ok");
    await h.pool.add(key("honest"));
    const metricsBefore = await (await fetch(`${h.gw.url}/metrics`)).text();
    const n = Number(/^keypool_usage_estimated_total (\d+)$/m.exec(metricsBefore)?.[1]);
    await h.pool.disable(key("relay"));
    const created = (await (await h.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: "honest-user" }) })).json()) as { id: string; token: string };
    const s = await h.client(created.token).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true });
    for await (const _ of s) void _;
    const metricsAfter = await (await fetch(`${h.gw.url}/metrics`)).text();
    assert.equal(Number(/^keypool_usage_estimated_total (\d+)$/m.exec(metricsAfter)?.[1]), n, "the upstream's usage was used");
    await h.pool.enable(key("relay"));
    await h.pool.disable(key("honest"));
  });

  it("spends the estimate against the key's budget: a key over it is quarantined", async () => {
    const budgeted = key("budgeted");
    h.sim.setKey(budgeted, "ok:usage=ignored");
    await h.pool.add({ secret: budgeted, budgetUsd: 0.000001 });
    await h.pool.disable(key("relay"));
    const created = (await (await h.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: "budget-user" }) })).json()) as { token: string };
    try {
      const s = await h.client(created.token).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "spend a little" }], stream: true });
      for await (const _ of s) void _;
      const rec = h.pool.get(budgeted)!;
      assert.equal(rec.state, "quarantined", "the estimated cost went over the key's budget");
      assert.match(rec.reason ?? "", /budget spent/);
    } finally {
      await h.pool.enable(key("relay"));
    }
  });

  it("still refuses a token whose quota such answers used up", async () => {
    const created = (await (await h.admin("/admin/tokens", { method: "POST", body: JSON.stringify({ name: "small", quotaTokens: 10 }) })).json()) as { id: string; token: string };
    const client = h.client(created.token);
    const s = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "a long enough question to pass ten tokens at once" }], stream: true });
    for await (const _ of s) void _;
    await assert.rejects(client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "again" }] }), (err: { status?: number }) => err.status === 429);
  });
});
