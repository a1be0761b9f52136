/** Every `/v1` route through the gateway with the official SDK; failover and streaming as the client sees them. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chat, harness, key, type Harness } from "./helpers.ts";

describe("gateway /v1 routes", () => {
  let h: Harness;
  const OK = key("ok");
  before(async () => {
    h = await harness({ [OK]: "ok" });
  });
  after(() => h.close());

  it("answers chat completions (JSON) with usage, and the client's Authorization never reaches the upstream", async () => {
    const r = await chat(h.client("client-secret-never-forwarded"));
    assert.equal(r.object, "chat.completion");
    assert.ok(r.choices[0]!.message.content!.length > 0);
    assert.ok(r.usage!.prompt_tokens > 0);
    const seen = h.sim.requests().map((e) => e.key);
    assert.ok(seen.includes(OK));
    assert.ok(!seen.includes("client-secret-never-forwarded"));
  });

  it("passes on the upstream's answer headers, except the pooled key's rate-limit counters, organization and project", async () => {
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    // What the simulator sends, as OpenAI does (checked here so the test can't pass on headers nobody sends).
    const direct = await fetch(`${h.sim.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${OK}` }, body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }) });
    await direct.arrayBuffer();
    for (const name of ["openai-organization", "x-ratelimit-remaining-requests", "x-ratelimit-reset-tokens", "x-request-id"]) assert.ok(direct.headers.has(name), `the simulator sends ${name}`);
    for (const name of ["openai-organization", "openai-project", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"]) assert.equal(res.headers.get(name), null, name);
    assert.ok(res.headers.get("x-request-id")?.startsWith("req_"), "the upstream's request id is passed on");
    assert.equal(res.headers.get("openai-version"), direct.headers.get("openai-version"));
  });

  it("streams chat completions without the usage chunk the client did not ask for", async () => {
    const stream = await h.client().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.ok(chunks.length > 2);
    assert.ok(chunks.every((c) => c.choices.length > 0), "no usage-only chunk");
    assert.ok(chunks.every((c) => c.usage == null));
    // keypool asked the upstream for it, to meter the stream
    const last = h.sim.requests(OK).at(-1)!;
    assert.deepEqual((last.body as { stream_options?: unknown }).stream_options, { include_usage: true });
  });

  it("keeps the usage chunk for a client that asked for it", async () => {
    const stream = await h.client().chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage = null;
    for await (const c of stream) if (c.usage) usage = c.usage;
    assert.ok(usage !== null && usage.completion_tokens > 0);
  });

  it("answers completions, JSON and streamed", async () => {
    const r = await h.client().completions.create({ model: "gpt-3.5-turbo-instruct", prompt: "Say hi" });
    assert.equal(r.object, "text_completion");
    const s = await h.client().completions.create({ model: "gpt-3.5-turbo-instruct", prompt: "Say hi", stream: true });
    let text = "";
    let usageChunks = 0;
    for await (const c of s) {
      text += c.choices[0]?.text ?? "";
      if (c.usage) usageChunks++;
    }
    assert.ok(text.length > 0);
    assert.equal(usageChunks, 0);
  });

  it("answers embeddings", async () => {
    const r = await h.client().embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"] });
    assert.equal(r.data.length, 2);
    assert.ok(r.usage.prompt_tokens > 0);
  });

  it("answers responses, JSON and streamed", async () => {
    const r = await h.client().responses.create({ model: "gpt-4o-mini", input: "hello" });
    assert.ok(r.output_text.length > 0);
    const s = await h.client().responses.create({ model: "gpt-4o-mini", input: "hello", stream: true });
    let completed = false;
    for await (const ev of s) if (ev.type === "response.completed") completed = true;
    assert.ok(completed);
  });

  it("lists models (the upstream's list through the pool)", async () => {
    const list = await h.client().models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes("gpt-4o-mini"));
    const one = await h.client().models.retrieve("gpt-4o-mini");
    assert.equal(one.id, "gpt-4o-mini");
  });

  it("passes other /v1 routes through the pool", async () => {
    const res = await fetch(`${h.gw.url}/v1/dashboard/billing/subscription`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { hard_limit_usd?: number };
    assert.equal(typeof body.hard_limit_usd, "number");
  });

  it("passes upstream caller errors back as they came (no retry, no state change)", async () => {
    const sent = h.sim.stats(OK).requests;
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-4o-mini", temperature: 5, messages: [{ role: "user", content: "x" }] }) });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string } };
    assert.equal(body.error.param, "temperature");
    assert.equal(h.sim.stats(OK).requests, sent + 1);
    assert.equal(h.pool.get(OK)!.state, "active");
  });

  it("refuses a body that is not JSON with a 400 in OpenAI's shape, naming the field for wrong types", async () => {
    const bad = await fetch(`${h.gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    assert.equal(bad.status, 400);
    const b = (await bad.json()) as { error: { message: string; type: string; code: string } };
    assert.equal(b.error.type, "invalid_request_error");
    assert.match(b.error.message, /not valid JSON/);
    // Latin-1 bytes in a string: JSON that parses once decoded with replacement characters, but isn't UTF-8.
    const latin1 = Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"caf'), Buffer.from([0xe9]), Buffer.from('"}]}')]);
    const notUtf8 = await fetch(`${h.gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: latin1 });
    assert.equal(notUtf8.status, 400);
    assert.match(((await notUtf8.json()) as { error: { message: string } }).error.message, /not valid UTF-8/);
    const wrong = await fetch(`${h.gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: 42, messages: [] }) });
    assert.equal(wrong.status, 400);
    const w = (await wrong.json()) as { error: { param: string; message: string } };
    assert.equal(w.error.param, "model");
    assert.match(w.error.message, /model must be a string/);
  });

  it("answers 404 for unknown routes outside /v1", async () => {
    const res = await fetch(`${h.gw.url}/nope`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "KP_ROUTE_NOT_FOUND");
  });
});

describe("failover through the gateway", () => {
  let h: Harness;
  const keys = { [key("invalid")]: "invalid", [key("quota")]: "quota", [key("flaky")]: "flaky:rate=0.7", [key("good")]: "ok" };
  before(async () => {
    h = await harness(keys, { pool: { strategy: "round-robin" } });
  });
  after(() => h.close());

  it("is invisible to the client: 40 requests over bad keys and one good key, zero errors", async () => {
    const client = h.client();
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        try {
          if (i % 2 === 0) await chat(client);
          else {
            const s = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true });
            for await (const c of s) assert.ok(c);
          }
        } catch (err) {
          errors.push(err);
        }
      }),
    );
    assert.deepEqual(errors, []);
    const states = Object.fromEntries(h.pool.list().map((v) => [v.id, v.state]));
    assert.equal(h.pool.get(key("invalid"))!.state, "retired");
    assert.equal(h.pool.get(key("quota"))!.state, "quarantined");
    assert.equal(h.pool.get(key("good"))!.state, "active", JSON.stringify(states));
  });
});

describe("streaming passthrough", () => {
  let h: Harness;
  const SLOW = key("slow");
  before(async () => {
    h = await harness({ [SLOW]: "slow:ms=50,chunk_ms=40" });
  });
  after(() => h.close());

  it("sends chunks as they arrive, long before the upstream finished", async () => {
    const t0 = performance.now();
    const s = await h.client().chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "tell me a story" }], stream: true });
    let first = 0;
    let n = 0;
    for await (const c of s) {
      assert.ok(c);
      if (n++ === 0) first = performance.now() - t0;
    }
    const total = performance.now() - t0;
    assert.ok(n > 5, `got ${n} chunks`);
    assert.ok(total - first > 200, `first chunk at ${first.toFixed(0)} ms, end at ${total.toFixed(0)} ms`);
  });

  it("cancels the upstream request when the client disconnects", async () => {
    const ac = new AbortController();
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "a long story please" }], stream: true }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    const entry = h.pool.index.entries.get(h.pool.get(SLOW)!.id)!;
    assert.equal(entry.inFlight, 1);
    ac.abort();
    const until = Date.now() + 2000;
    while (entry.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(entry.inFlight, 0, "the lease was released at once");
    // The upstream saw its client go: the answer it was streaming never completed.
    await new Promise((r) => setTimeout(r, 150));
    const last = h.sim.requests(SLOW).at(-1)!;
    assert.equal(last.status, null);
    const metrics = await (await fetch(`${h.gw.url}/metrics`)).text();
    assert.match(metrics, /keypool_http_requests_total\{route="\/v1\/chat\/completions",status="499"/);
    // a client leaving is not the key's fault
    assert.equal(h.pool.get(SLOW)!.state, "active");
  });
});
