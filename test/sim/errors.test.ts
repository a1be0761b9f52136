import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { client, HELLO, key, rejectsWith } from "./helpers.ts";

const K = {
  ok: key("ok"),
  invalid: key("invalid"),
  deactivated: key("deact"),
  reseller: key("reseller"),
  resellerText: key("resellertext"),
  quota: key("quota"),
  legacy: key("legacy"),
  expired: key("expired"),
  flaky: key("flaky"),
  reset: key("reset"),
  resetMid: key("resetmid"),
  hang: key("hang"),
  only: key("only"),
};

describe("behaviours reach the openai SDK as its typed errors", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({
      keys: {
        [K.ok]: "ok",
        [K.invalid]: "invalid",
        [K.deactivated]: "deactivated",
        [K.reseller]: "reseller-401",
        [K.resellerText]: "reseller-401:body=text",
        [K.quota]: "quota",
        [K.legacy]: "legacy-quota",
        [K.expired]: "expired",
        [K.flaky]: "flaky:rate=1,status=500|502|503",
        [K.reset]: "reset",
        [K.resetMid]: "reset:after=chunks:2",
        [K.hang]: "hang",
        [K.only]: "ok:models=gpt-4o-mini",
      },
    });
  });
  after(() => sim.close());
  const chat = (apiKey: string, extra: Record<string, unknown> = {}, timeout?: number) =>
    client(sim, apiKey, timeout === undefined ? {} : { timeout }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: HELLO,
      ...extra,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);

  it("invalid: 401 invalid_api_key with the masked key in the message", async () => {
    const err = await rejectsWith(chat(K.invalid), OpenAI.AuthenticationError);
    assert.equal(err.status, 401);
    assert.equal(err.code, "invalid_api_key");
    assert.equal(err.type, "invalid_request_error");
    assert.match(err.message, /Incorrect API key provided: sk-inv\*+wxyz\. You can find your API key at/);
    assert.ok(!err.message.includes(K.invalid));
    assert.match(err.headers.get("x-request-id") ?? "", /^req_[0-9a-f]{32}$/);
  });

  it("an unknown key is invalid, a missing one is told so", async () => {
    const err = await rejectsWith(chat(key("nobody")), OpenAI.AuthenticationError);
    assert.equal(err.code, "invalid_api_key");
    const res = await fetch(`${sim.url}/v1/models`);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /You didn't provide an API key/);
  });

  it("deactivated: 401 account_deactivated", async () => {
    const err = await rejectsWith(chat(K.deactivated), OpenAI.AuthenticationError);
    assert.equal(err.code, "account_deactivated");
    assert.equal(err.type, "invalid_request_error");
  });

  it("reseller-401: a bare 401 without code or type, JSON or text", async () => {
    const err = await rejectsWith(chat(K.reseller), OpenAI.AuthenticationError);
    assert.equal(err.code, undefined);
    assert.equal(err.type, undefined);
    const text = await fetch(`${sim.url}/v1/models`, { headers: { authorization: `Bearer ${K.resellerText}` } });
    assert.equal(text.status, 401);
    assert.equal(await text.text(), "Unauthorized");
  });

  it("quota: 429 insufficient_quota (type and code)", async () => {
    const err = await rejectsWith(chat(K.quota), OpenAI.RateLimitError);
    assert.equal(err.code, "insufficient_quota");
    assert.equal(err.type, "insufficient_quota");
    assert.match(err.message, /You exceeded your current quota/);
    assert.equal(err.headers.get("retry-after"), null);
  });

  it("legacy-quota: type insufficient_quota with code null", async () => {
    const err = await rejectsWith(chat(K.legacy), OpenAI.RateLimitError);
    assert.equal(err.code, null);
    assert.equal(err.type, "insufficient_quota");
  });

  it("expired: API calls answer 429 insufficient_quota", async () => {
    const err = await rejectsWith(chat(K.expired), OpenAI.RateLimitError);
    assert.equal(err.code, "insufficient_quota");
  });

  it("flaky: 500, 502 and 503 in turn as InternalServerError", async () => {
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const err = await rejectsWith(chat(K.flaky), OpenAI.InternalServerError);
      seen.push(err.status);
    }
    assert.deepEqual(seen, [500, 502, 503]);
    const body = await fetch(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${K.flaky}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: HELLO }),
    });
    assert.deepEqual(await body.json(), {
      error: {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null,
      },
    });
  });

  it("reset: the connection drops (APIConnectionError), before and in the middle of a stream", async () => {
    const err = await rejectsWith(chat(K.reset), OpenAI.APIConnectionError);
    assert.ok(!(err instanceof OpenAI.APIConnectionTimeoutError));
    const stream = await client(sim, K.resetMid).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO, stream: true });
    const deltas: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? "");
    });
    assert.equal(deltas.length, 2, "two chunks arrive before the drop");
    assert.deepEqual(
      sim.requests(K.resetMid).map((r) => r.status),
      ["reset"],
    );
  });

  it("hang: no answer; the SDK times out", async () => {
    const started = Date.now();
    await rejectsWith(chat(K.hang, {}, 300), OpenAI.APIConnectionTimeoutError);
    assert.ok(Date.now() - started >= 290);
    assert.equal(sim.stats(K.hang).statuses.hang, 1);
  });

  it("models= allow-list: another model is 404 model_not_found", async () => {
    const err = await rejectsWith(chat(K.only, { model: "gpt-4o" }), OpenAI.NotFoundError);
    assert.equal(err.code, "model_not_found");
    assert.equal(err.message, "404 The model `gpt-4o` does not exist or you do not have access to it.");
    const models = await client(sim, K.only).models.list();
    assert.deepEqual(models.data.map((m) => m.id), ["gpt-4o-mini"]);
    await rejectsWith(client(sim, K.only).models.retrieve("gpt-4o"), OpenAI.NotFoundError);
    assert.equal((await client(sim, K.only).models.retrieve("gpt-4o-mini")).id, "gpt-4o-mini");
  });

  it("an unknown model is 404 for everyone; a chat model on /v1/completions is 404 too", async () => {
    const err = await rejectsWith(chat(K.ok, { model: "gpt-9-imaginary" }), OpenAI.NotFoundError);
    assert.equal(err.code, "model_not_found");
    const wrong = await rejectsWith(
      client(sim, K.ok).completions.create({ model: "gpt-4o-mini", prompt: "hi" }),
      OpenAI.NotFoundError,
    );
    assert.match(wrong.message, /This is a chat model and not supported in the v1\/completions endpoint/);
  });

  it("bad requests: 400 naming the param", async () => {
    const missing = await rejectsWith(
      client(sim, K.ok).chat.completions.create({ model: "gpt-4o-mini" } as never),
      OpenAI.BadRequestError,
    );
    assert.equal(missing.param, "messages");
    assert.equal(missing.code, "missing_required_parameter");
    const role = await rejectsWith(chat(K.ok, { messages: [{ role: "robot", content: "x" }] }), OpenAI.BadRequestError);
    assert.equal(role.param, "messages[0].role");
    const temp = await rejectsWith(chat(K.ok, { temperature: 3 }), OpenAI.BadRequestError);
    assert.equal(temp.param, "temperature");
    const res = await fetch(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${K.ok}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /could not parse the JSON body/);
  });

  it("context too long: 400 context_length_exceeded", async () => {
    const huge = "lorem ipsum dolor sit amet ".repeat(5000); // ~25k tokens > gpt-4's 8192
    const err = await rejectsWith(chat(K.ok, { model: "gpt-4", messages: [{ role: "user", content: huge }] }), OpenAI.BadRequestError);
    assert.equal(err.code, "context_length_exceeded");
    assert.equal(err.param, "messages");
    assert.match(err.message, /maximum context length is 8192 tokens/);
    const big = await rejectsWith(chat(K.ok, { max_tokens: 1_000_000 }), OpenAI.BadRequestError);
    assert.equal(big.param, "max_tokens");
  });

  it("an unknown /v1 route is 404 Invalid URL in OpenAI's shape", async () => {
    const res = await fetch(`${sim.url}/v1/nothing/here`, { method: "POST", headers: { authorization: `Bearer ${K.ok}` } });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), {
      error: { message: "Invalid URL (POST /v1/nothing/here)", type: "invalid_request_error", param: null, code: null },
    });
  });
});
