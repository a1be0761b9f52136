import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type OpenAI from "openai";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { client, HELLO, key } from "./helpers.ts";

const OK = key("gen");
const SLOW = key("slow");

describe("answers: shapes, streams and usage", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ keys: { [OK]: "ok", [SLOW]: "slow:ms=150,chunk_ms=20" } });
  });
  after(() => sim.close());

  it("chat: deterministic reply, real token counts, prompt + completion = total", async () => {
    const openai = client(sim, OK);
    const a = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    const b = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    assert.equal(a.object, "chat.completion");
    assert.equal(a.choices[0]?.message.role, "assistant");
    assert.equal(a.choices[0]?.finish_reason, "stop");
    assert.equal(a.choices[0]?.message.content, b.choices[0]?.message.content);
    assert.match(a.choices[0]?.message.content ?? "", /You said: "Hello there, how are you today\?"/);
    assert.notEqual(a.id, b.id);
    const u = a.usage!;
    assert.equal(u.prompt_tokens + u.completion_tokens, u.total_tokens);
    // 3 + "user"(1) + 8 tokens of content + 3 priming, as OpenAI counts for gpt-4o-mini.
    assert.equal(u.prompt_tokens, 15);
    const other = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Something else entirely" }] });
    assert.notEqual(other.choices[0]?.message.content, a.choices[0]?.message.content);
  });

  it("chat stream: role first, deltas, finish_reason, usage chunk with no choices, same usage as JSON", async () => {
    const openai = client(sim, OK);
    const json = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0]?.choices[0]?.delta.role, "assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, json.choices[0]?.message.content);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finish.length, 1);
    assert.equal(finish[0]?.choices[0]?.finish_reason, "stop");
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, json.usage);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0]?.id));
  });

  it("chat stream without include_usage has no usage chunk; the raw stream ends with [DONE]", async () => {
    const res = await fetch(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${OK}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: HELLO, stream: true }),
    });
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const text = await res.text();
    assert.ok(text.endsWith("data: [DONE]\n\n"));
    assert.ok(!text.includes('"usage"'));
  });

  it("max_tokens cuts the reply: finish_reason length, completion_tokens = max", async () => {
    const r = await client(sim, OK).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO, max_completion_tokens: 3 });
    assert.equal(r.choices[0]?.finish_reason, "length");
    assert.equal(r.usage?.completion_tokens, 3);
    const full = await client(sim, OK).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    assert.ok(full.choices[0]!.message.content!.startsWith(r.choices[0]!.message.content!.trim()));
  });

  it("responses: JSON and streamed events with the same usage", async () => {
    const openai = client(sim, OK);
    const json = await openai.responses.create({ model: "gpt-4o-mini", input: "Tell me something", instructions: "Be brief" });
    assert.equal(json.object, "response");
    assert.equal(json.status, "completed");
    assert.match(json.output_text, /You said: "Tell me something"/);
    assert.equal(json.usage!.input_tokens + json.usage!.output_tokens, json.usage!.total_tokens);
    const stream = await openai.responses.create({ model: "gpt-4o-mini", input: "Tell me something", instructions: "Be brief", stream: true });
    const types: string[] = [];
    let text = "";
    let completed: typeof json | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = event.response;
    }
    assert.equal(types[0], "response.created");
    assert.equal(types.at(-1), "response.completed");
    assert.ok(types.includes("response.output_text.done"));
    assert.equal(text, json.output_text);
    assert.deepEqual(completed?.usage, json.usage);
    // Continuing a stored response counts its context; an unknown id is 404.
    const next = await openai.responses.create({ model: "gpt-4o-mini", input: "And more", previous_response_id: json.id });
    assert.ok(next.usage!.input_tokens > json.usage!.total_tokens);
    await assert.rejects(openai.responses.create({ model: "gpt-4o-mini", input: "x", previous_response_id: "resp_nope" }), { status: 404 });
  });

  it("completions (legacy): default 16 tokens, streamed too", async () => {
    const openai = client(sim, OK);
    const r = await openai.completions.create({ model: "gpt-3.5-turbo-instruct", prompt: "Once upon a time there was a very long story" });
    assert.equal(r.object, "text_completion");
    assert.equal(r.usage!.prompt_tokens + r.usage!.completion_tokens, r.usage!.total_tokens);
    assert.ok(r.usage!.completion_tokens <= 16);
    const stream = await openai.completions.create({ model: "gpt-3.5-turbo-instruct", prompt: "Once upon a time there was a very long story", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, r.choices[0]?.text);
  });

  it("embeddings: deterministic unit vectors as float and base64 (the SDK's default)", async () => {
    const openai = client(sim, OK);
    const viaSdk = await openai.embeddings.create({ model: "text-embedding-3-small", input: ["alpha", "beta"] });
    assert.equal(viaSdk.data.length, 2);
    assert.equal(viaSdk.data[0]?.embedding.length, 1536);
    const norm = Math.hypot(...viaSdk.data[0]!.embedding);
    assert.ok(Math.abs(norm - 1) < 1e-3);
    const floats = await openai.embeddings.create({ model: "text-embedding-3-small", input: "alpha", encoding_format: "float" });
    assert.ok(floats.data[0]!.embedding.every((v, i) => Math.abs(v - viaSdk.data[0]!.embedding[i]!) < 1e-6));
    assert.notDeepEqual(viaSdk.data[0]?.embedding, viaSdk.data[1]?.embedding);
    const short = await openai.embeddings.create({ model: "text-embedding-3-large", input: "alpha", dimensions: 256 });
    assert.equal(short.data[0]?.embedding.length, 256);
    assert.equal(viaSdk.usage.prompt_tokens, 2);
  });

  it("models: the list and one model", async () => {
    const openai = client(sim, OK);
    const list = await openai.models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes("gpt-4o-mini") && ids.includes("text-embedding-3-small"));
    const one = await openai.models.retrieve("gpt-4o");
    assert.equal(one.object, "model");
  });

  it("headers OpenAI sends come on every answer", async () => {
    const { response } = await client(sim, OK).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }).withResponse();
    for (const name of ["x-request-id", "openai-processing-ms", "openai-organization", "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests"]) {
      assert.ok(response.headers.get(name), `missing ${name}`);
    }
  });

  it("slow: the answer is late and the stream is spread out", async () => {
    const openai = client(sim, SLOW);
    let started = Date.now();
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    assert.ok(Date.now() - started >= 140, "first byte after ms");
    started = Date.now();
    const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO, stream: true });
    const times: number[] = [];
    for await (const chunk of stream) if (chunk.id) times.push(Date.now());
    assert.ok(times.length > 5);
    // 20 ms between chunks; a loaded client may read two at once, so allow half.
    assert.ok(times.at(-1)! - times[0]! >= 10 * (times.length - 2), "chunks are spaced by chunk_ms");
  });

  it("concurrent identical requests get whole, distinct answers (bodies are recycled after writing)", async () => {
    const post = (stream: boolean) =>
      fetch(`${sim.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${OK}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: HELLO, stream }),
      }).then((res) => res.text());
    const texts = await Promise.all(Array.from({ length: 200 }, (_, i) => post(i % 2 === 1)));
    const ids = new Set<string>();
    for (const [i, text] of texts.entries()) {
      if (i % 2 === 0) {
        ids.add((JSON.parse(text) as { id: string }).id);
        continue;
      }
      const events = text.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)) as { id: string });
      const streamIds = new Set(events.map((e) => e.id));
      assert.equal(streamIds.size, 1, "every chunk of a stream carries its id");
      ids.add(events[0]!.id);
      assert.ok(text.endsWith("data: [DONE]\n\n"));
    }
    assert.equal(ids.size, 200, "no two answers share an id");
  });

  it("the key's stats equal the usage the client saw", async () => {
    const local = await startSimulator({ keys: { [OK]: "ok" } });
    try {
      const openai = client(local, OK);
      let prompt = 0;
      let completion = 0;
      for (const content of ["one", "two two", "three three three"]) {
        const r = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content }] });
        prompt += r.usage!.prompt_tokens;
        completion += r.usage!.completion_tokens;
      }
      const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        if (chunk.usage) {
          prompt += chunk.usage.prompt_tokens;
          completion += chunk.usage.completion_tokens;
        }
      }
      const e = await openai.embeddings.create({ model: "text-embedding-3-small", input: "count me" });
      prompt += e.usage.prompt_tokens;
      const stats = local.stats(OK);
      assert.equal(stats.requests, 5);
      assert.deepEqual(stats.statuses, { 200: 5 });
      assert.equal(stats.prompt_tokens, prompt);
      assert.equal(stats.completion_tokens, completion);
      assert.equal(stats.total_tokens, prompt + completion);
      assert.ok(local.key(OK).used_usd > 0);
      const log = local.requests(OK);
      assert.equal(log.length, 5);
      assert.deepEqual(log[0]?.body, { model: "gpt-4o-mini", messages: [{ role: "user", content: "one" }] });
      assert.equal(log[0]?.path, "/v1/chat/completions");
    } finally {
      await local.close();
    }
  });
});
