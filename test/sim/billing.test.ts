import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { client, HELLO, key, rejectsWith, testSim } from "./helpers.ts";

const K = {
  ok: key("billok"),
  quota: key("billquota"),
  expired: key("billexpired"),
  gone: key("bill404"),
  empty: key("billempty"),
  session: key("billsession"),
};

interface Subscription {
  object: string;
  has_payment_method: boolean;
  hard_limit_usd: number;
  soft_limit_usd: number;
  system_hard_limit_usd: number;
  access_until: number;
  plan: { id: string };
}

interface Usage {
  object: string;
  total_usage: number;
  daily_costs: Array<{ timestamp: number; line_items: Array<{ name: string; cost: number }> }>;
}

function day(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

async function get<T>(sim: Simulator, apiKey: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sim.url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
  return { status: res.status, body: (await res.json()) as T };
}

const usagePath = (prefix = "/v1") => `${prefix}/dashboard/billing/usage?start_date=${day(-30)}&end_date=${day(1)}`;

describe("billing", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({
      keys: {
        [K.ok]: "ok:limit_usd=50",
        [K.quota]: "quota:limit_usd=10",
        [K.expired]: "expired",
        [K.gone]: "billing-unsupported",
        [K.empty]: "billing-unsupported:mode=empty",
        [K.session]: "billing-unsupported:mode=session-key",
      },
    });
  });
  after(() => sim.close());

  it("ok: a subscription with a future access_until; usage in cents follows real spending", async () => {
    const sub = await get<Subscription>(sim, K.ok, "/v1/dashboard/billing/subscription");
    assert.equal(sub.status, 200);
    assert.equal(sub.body.object, "billing_subscription");
    assert.equal(sub.body.hard_limit_usd, 50);
    assert.equal(sub.body.has_payment_method, true);
    assert.ok(sub.body.access_until > Date.now() / 1000);
    const initial = await get<Usage>(sim, K.ok, usagePath());
    assert.equal(initial.body.object, "list");
    assert.equal(initial.body.total_usage, 0);
    assert.equal(initial.body.daily_costs.length, 31);
    await client(sim, K.ok).chat.completions.create({ model: "gpt-4o", messages: HELLO });
    const afterCall = await get<Usage>(sim, K.ok, usagePath("")); // also without /v1
    const cents = sim.key(K.ok).used_usd * 100;
    assert.ok(afterCall.body.total_usage > 0);
    assert.ok(Math.abs(afterCall.body.total_usage - cents) < 1e-3, `${afterCall.body.total_usage} vs ${cents}`);
    const today = afterCall.body.daily_costs.find((d) => d.line_items.length > 0);
    assert.equal(today?.line_items[0]?.name, "gpt-4o");
  });

  it("quota: usage >= limit; top-up raises the limit and the key answers again", async () => {
    const sub = await get<Subscription>(sim, K.quota, "/dashboard/billing/subscription");
    const usage = await get<Usage>(sim, K.quota, usagePath());
    assert.equal(sub.body.hard_limit_usd, 10);
    assert.ok(usage.body.total_usage >= sub.body.hard_limit_usd * 100);
    await rejectsWith(client(sim, K.quota).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
    const view = sim.topUp(K.quota, 5);
    assert.equal(view.limit_usd, 15);
    assert.equal(view.quota_reached, false);
    const r = await client(sim, K.quota).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    assert.equal(r.object, "chat.completion");
    assert.equal((await get<Subscription>(sim, K.quota, "/v1/dashboard/billing/subscription")).body.hard_limit_usd, 15);
  });

  it("expired: access_until in the past, free plan", async () => {
    const sub = await get<Subscription>(sim, K.expired, "/v1/dashboard/billing/subscription");
    assert.equal(sub.status, 200);
    assert.ok(sub.body.access_until < Date.now() / 1000);
    assert.equal(sub.body.has_payment_method, false);
  });

  it("billing-unsupported: 404, an empty 200, or the session-key 403; the API itself works", async () => {
    assert.equal((await get(sim, K.gone, "/v1/dashboard/billing/subscription")).status, 404);
    assert.equal((await get(sim, K.gone, usagePath())).status, 404);
    const empty = await get<Record<string, unknown>>(sim, K.empty, "/v1/dashboard/billing/subscription");
    assert.equal(empty.status, 200);
    assert.equal(empty.body.hard_limit_usd, undefined);
    const refused = await get<{ error: { message: string } }>(sim, K.session, "/v1/dashboard/billing/subscription");
    assert.equal(refused.status, 403);
    assert.match(refused.body.error.message, /must be made with a session key/);
    const r = await client(sim, K.gone).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    assert.equal(r.object, "chat.completion");
  });

  it("invalid keys get 401 on billing too; bad dates get 400", async () => {
    assert.equal((await get(sim, key("stranger"), "/v1/dashboard/billing/subscription")).status, 401);
    const bad = await get<{ error: { param: string } }>(sim, K.ok, "/v1/dashboard/billing/usage?start_date=yesterday&end_date=2024-01-01");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, "start_date");
    const long = await get(sim, K.ok, `/v1/dashboard/billing/usage?start_date=${day(-200)}&end_date=${day(1)}`);
    assert.equal(long.status, 400);
  });
});

describe("exhausts, spend and top-up", () => {
  it("exhausts:requests=N: N calls work, then quota (and billing shows it)", async (t) => {
    const k = key("exhreq");
    const sim = await testSim(t, { keys: { [k]: "exhausts:requests=3" } });
    const openai = client(sim, k);
    for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    const err = await rejectsWith(openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
    assert.equal(err.code, "insufficient_quota");
    assert.equal(sim.key(k).quota_reached, true);
    // The models route still answers a key without quota, as OpenAI's does.
    assert.ok((await openai.models.list()).data.length > 0);
    sim.topUp(k, 1);
    for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    await rejectsWith(openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
  });

  it("exhausts:tokens=N flips once N tokens are used", async (t) => {
    const k = key("exhtok");
    const sim = await testSim(t, { keys: { [k]: "exhausts:tokens=60" } });
    const openai = client(sim, k);
    let calls = 0;
    let tokens = 0;
    for (;;) {
      try {
        const r = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
        tokens += r.usage!.total_tokens;
        calls += 1;
      } catch (err) {
        assert.ok(err instanceof OpenAI.RateLimitError);
        break;
      }
      assert.ok(calls < 10, "never exhausted");
    }
    assert.ok(tokens >= 60 && tokens - 60 < 40, `${tokens} tokens in ${calls} calls`);
  });

  it("spend pushes a key to its limit", async (t) => {
    const k = key("spender");
    const sim = await testSim(t, { keys: { [k]: "ok:limit_usd=1" } });
    sim.spend(k, 0.5);
    await client(sim, k).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    const view = sim.spend(k, 0.5);
    assert.equal(view.quota_reached, true);
    await rejectsWith(client(sim, k).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
    assert.throws(() => sim.spend(k, -1), /usd: must be a positive number/);
    assert.throws(() => sim.topUp(key("nobody"), 1), /key not found/);
  });
});
