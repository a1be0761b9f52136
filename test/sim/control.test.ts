import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startSimulator, type KeyView, type Simulator } from "../../src/sim/index.ts";
import { client, HELLO, key, rejectsWith } from "./helpers.ts";

const A = key("ctla");

describe("/_sim/ control routes", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ keys: { [A]: "ok" }, sessions: { "sess-ctl-0000000001": "ok" } });
  });
  after(() => sim.close());

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  it("PUT changes a key's behaviour (flag form or object form) and creates new keys", async () => {
    const B = key("ctlb");
    const put = await call<KeyView>("PUT", `/_sim/keys/${B}`, { behaviour: "rate-limited:rpm=1" });
    assert.equal(put.status, 200);
    assert.equal(put.body.behaviour, "rate-limited:rpm=1");
    const openai = client(sim, B);
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    await rejectsWith(openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
    const obj = await call<KeyView>("PUT", `/_sim/keys/${B}`, { behaviour: "flaky", rate: 1, status: [503] });
    assert.equal(obj.body.behaviour, "flaky:rate=1,status=503");
    const err = await rejectsWith(openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.InternalServerError);
    assert.equal(err.status, 503);
    const one = await call<KeyView>("GET", `/_sim/keys/${B}`);
    assert.equal(one.body.stats.requests, 3);
    const list = await call<{ data: KeyView[] }>("GET", "/_sim/keys");
    assert.deepEqual(list.body.data.map((k) => k.key).sort(), [A, B].sort());
  });

  it("bad input gets a clear 400 naming the field; unknown keys 404", async () => {
    const bad = await call<{ error: { message: string; param: string } }>("PUT", `/_sim/keys/${A}`, { behaviour: "flaky:rate=7" });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /rate: must be at most 1/);
    const unknownParam = await call<{ error: { message: string } }>("PUT", `/_sim/keys/${A}`, { behaviour: "ok", speed: 3 });
    assert.equal(unknownParam.status, 400);
    assert.match(unknownParam.body.error.message, /speed/);
    const notJson = await call<{ error: { message: string } }>("PUT", `/_sim/keys/${A}`, "nope");
    assert.equal(notJson.status, 400);
    const missing = await call("POST", `/_sim/keys/${key("ghost")}/topup`, { usd: 5 });
    assert.equal(missing.status, 404);
    const badUsd = await call<{ error: { message: string } }>("POST", `/_sim/keys/${A}/topup`, { usd: "lots" });
    assert.equal(badUsd.status, 400);
    assert.match(badUsd.body.error.message, /usd/);
    assert.equal((await call("GET", "/_sim/nothing")).status, 404);
  });

  it("topup and spend move the billing state", async () => {
    const initial = (await call<KeyView>("GET", `/_sim/keys/${A}`)).body;
    const spent = await call<KeyView>("POST", `/_sim/keys/${A}/spend`, { usd: initial.limit_usd });
    assert.equal(spent.body.quota_reached, true);
    await rejectsWith(client(sim, A).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
    const topped = await call<KeyView>("POST", `/_sim/keys/${A}/topup`, { usd: 10 });
    assert.equal(topped.body.quota_reached, false);
    assert.equal(topped.body.limit_usd, initial.limit_usd + 10);
  });

  it("requests log, sessions, and reset", async () => {
    for (let i = 0; i < 3; i++) await client(sim, A).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    const log = await call<{ data: Array<{ key: string; path: string; method: string; body: unknown; status: number }> }>(
      "GET",
      `/_sim/requests?key=${A}&limit=2`,
    );
    assert.equal(log.body.data.length, 2);
    assert.ok(log.body.data.every((e) => e.key === A && e.path === "/v1/chat/completions" && e.status === 200));
    assert.deepEqual(log.body.data[0]?.body, { model: "gpt-4o-mini", messages: HELLO });
    const sessions = await call<{ data: Array<{ id: string }> }>("GET", "/_sim/sessions");
    assert.deepEqual(sessions.body.data.map((s) => s.id), ["sess-ctl-0000000001"]);
    const changed = await call<{ behaviour: string }>("PUT", "/_sim/sessions/sess-ctl-0000000001", { behaviour: "short-lived:ms=500" });
    assert.equal(changed.body.behaviour, "short-lived:ms=500");
    assert.equal((await call("PUT", "/_sim/sessions/sess-ctl-0000000001", { behaviour: "sleepy" })).status, 400);
    assert.equal((await call("POST", "/_sim/reset")).status, 200);
    const keys = await call<{ data: KeyView[] }>("GET", "/_sim/keys");
    assert.deepEqual(keys.body.data.map((k) => k.key), [A], "runtime keys are gone");
    assert.equal(keys.body.data[0]?.stats.requests, 0);
    assert.equal(keys.body.data[0]?.quota_reached, false);
    assert.equal(sim.session("sess-ctl-0000000001").behaviour, "ok");
    assert.deepEqual(sim.requests(), []);
  });
});

describe("in-process control", () => {
  it("unknownKeys: ok creates keys on first use", async (t) => {
    const sim = await startSimulator({ unknownKeys: "ok" });
    t.after(() => sim.close());
    const k = key("fresh");
    await client(sim, k).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    assert.equal(sim.stats(k).requests, 1);
    assert.deepEqual(Object.keys(sim.stats()), [k]);
    sim.setKey(k, { behaviour: "invalid" });
    await rejectsWith(client(sim, k).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.AuthenticationError);
  });

  it("close() ends hanging connections at once", async () => {
    const k = key("hanger");
    const sim = await startSimulator({ keys: { [k]: "hang" } });
    const pending = client(sim, k).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    const caught = pending.catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await sim.close();
    assert.ok(Date.now() - started < 2000);
    assert.ok((await caught) instanceof OpenAI.APIConnectionError);
  });
});
