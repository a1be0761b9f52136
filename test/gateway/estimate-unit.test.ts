/** answerTextOf and estimateUsage: the text of answers in each API's shape, counted with the model's tokenizer. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { tokenCounter } from "../../src/chat/tokens.ts";
import { AnswerKeeper } from "../../src/gateway/proxy/answer-keeper.ts";
import { answerTextOf, estimateUsage } from "../../src/gateway/proxy/estimate.ts";

const sse = (...events: unknown[]): Buffer => Buffer.from(events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join(""));

describe("answerTextOf", () => {
  it("joins a chat stream's deltas (multi-byte text included), and skips [DONE], comments and garbage", () => {
    const body = Buffer.concat([
      Buffer.from(": keep-alive\n\n"),
      sse({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] }, { choices: [{ index: 0, delta: { content: "Héllo" } }] }, "not json", { choices: [{ index: 0, delta: { content: " wörld" } }] }, "[DONE]"),
    ]);
    assert.equal(answerTextOf("chat", body, true), "Héllo wörld");
  });

  it("reads completions streams, Responses deltas only, and JSON answers of each API", () => {
    assert.equal(answerTextOf("completions", sse({ choices: [{ text: "a" }] }, { choices: [{ text: "b" }] }), true), "ab");
    const responses = sse({ type: "response.output_text.delta", delta: "x" }, { type: "response.output_text.delta", delta: "y" }, { type: "response.output_text.done", text: "xy" }, { type: "response.completed", response: { output_text: "xy" } });
    assert.equal(answerTextOf("responses", responses, true), "xy");
    assert.equal(answerTextOf("chat", Buffer.from(JSON.stringify({ choices: [{ message: { role: "assistant", content: "json reply" } }] })), false), "json reply");
    assert.equal(answerTextOf("responses", Buffer.from(JSON.stringify({ output: [{ type: "message", content: [{ type: "output_text", text: "out" }] }] })), false), "out");
    assert.equal(answerTextOf("chat", Buffer.from("<html>"), false), "");
  });
});

describe("estimateUsage", () => {
  it("counts the prompt as chat messages and the reply as text, scaled up when only part was kept", async () => {
    const counter = await tokenCounter("gpt-4o-mini");
    const request = { model: "gpt-4o-mini", messages: [{ role: "user", content: [{ type: "text", text: "What is keypool?" }] }] };
    const reply = "A pool of keys.";
    const e = await estimateUsage("chat", "gpt-4o-mini", request, reply);
    assert.deepEqual(e, { promptTokens: counter.chat([{ role: "user", content: "What is keypool?" }]), completionTokens: counter.text(reply) });
    const half = await estimateUsage("chat", "gpt-4o-mini", request, reply, 0.5);
    assert.equal(half.completionTokens, 2 * counter.text(reply));
    const emb = await estimateUsage("embeddings", "text-embedding-3-small", { input: ["a b", "c"] }, "");
    assert.equal(emb.completionTokens, 0);
    assert.ok(emb.promptTokens > 0);
  });
});

/** A chat stream of `n` events, each a delta `word` with the envelope OpenAI sends around it (~230 bytes). */
function chatStream(n: number, word: string): Buffer {
  const envelope = { id: "chatcmpl-0123456789abcdefghijklmnopqrs", object: "chat.completion.chunk", created: 1795396426, model: "gpt-4o-mini", system_fingerprint: "fp_0123456789" };
  return sse(...Array.from({ length: n }, () => ({ ...envelope, choices: [{ index: 0, delta: { content: word }, logprobs: null, finish_reason: null }] })));
}

/** Pushes `body` into `k` in pieces of `size` bytes (cutting events anywhere, as TCP does). */
function pushInPieces(k: AnswerKeeper, body: Buffer, size: number): void {
  for (let i = 0; i < body.length; i += size) k.push(body.subarray(i, i + size));
}

describe("AnswerKeeper", () => {
  it("keeps a short stream as it came and reads its text only at the end", () => {
    const k = new AnswerKeeper("chat", true);
    pushInPieces(k, chatStream(3, "ab"), 100);
    assert.equal(k.text(), "ababab");
    assert.equal(k.share(), 1);
  });

  it("reads a long stream down to its text as it goes: every word counted, events cut across pieces included, a few KB held", () => {
    const body = chatStream(5000, "wörd "); // ~1.2 MB
    const k = new AnswerKeeper("chat", true);
    pushInPieces(k, body, 1000);
    assert.ok(k.held() <= 64 * 1024 + 1000, `holds ${k.held()} bytes of a ${body.length}-byte stream`);
    assert.equal(k.text(), "wörd ".repeat(5000));
    assert.equal(k.share(), 1);
  });

  it("stops keeping a stream's text past its cap and says which share it kept", () => {
    const body = chatStream(4000, "x".repeat(100)); // 400 KB of text
    const k = new AnswerKeeper("chat", true);
    pushInPieces(k, body, 4096);
    const text = k.text();
    assert.ok(text.length >= 256 * 1024 && text.length < 400 * 1024, `${text.length} characters kept`);
    assert.ok(k.share() > 0.5 && k.share() < 0.9, `share ${k.share()}`);
    // The estimate scaled by the share comes back to about the whole answer's length.
    assert.ok(Math.abs(text.length / k.share() - 400_000) / 400_000 < 0.05, `${text.length / k.share()} of 400000`);
  });

  it("holds one event longer than 64 KB until it ends (a Responses stream's final event repeats the whole text), and gives up on one past 1 MB", () => {
    const text = "y".repeat(300 * 1024);
    const body = sse({ type: "response.output_text.delta", delta: "hi" }, { type: "response.completed", response: { output_text: text } }, { type: "response.output_text.delta", delta: " there" });
    const k = new AnswerKeeper("responses", true);
    pushInPieces(k, body, 1000);
    assert.equal(k.text(), "hi there");
    assert.ok(k.held() < 64 * 1024, `holds ${k.held()} bytes once the long event ended`);
    const huge = new AnswerKeeper("chat", true);
    pushInPieces(huge, Buffer.concat([chatStream(1, "a"), sse({ choices: [{ delta: { content: "z".repeat(2 * 1024 * 1024) } }] }), chatStream(5, "b")]), 16 * 1024);
    assert.equal(huge.held(), 0);
    assert.equal(huge.text(), "a");
    assert.ok(huge.share() < 0.01);
  });

  it("keeps the first 64 KB of a JSON answer and scales by the share", () => {
    const k = new AnswerKeeper("chat", false);
    k.push(Buffer.from('{"choices":[{"message":{"content":"hi"}}]}'));
    assert.equal(k.text(), "hi");
    const big = new AnswerKeeper("chat", false);
    for (let i = 0; i < 4; i++) big.push(Buffer.alloc(32 * 1024, 0x61));
    assert.ok(Math.abs(big.share() - 0.5) < 1e-9);
    assert.ok(big.held() <= 64 * 1024);
  });
});

describe("TokenCounter.text on long input", () => {
  // The timeout is a hang guard, not a speed target: unsliced, the tokenizer takes minutes on this input.
  it("counts ordinary text as the tokenizer does, and a megabyte without spaces without hanging", { timeout: 60_000 }, async () => {
    const counter = await tokenCounter("gpt-4o-mini");
    const prose = "The quiet signal guides the quiet signal. ".repeat(40);
    // Sliced at spaces (1,680 characters: two slices), a token or two off the exact count at most.
    const exact = encode(prose).length;
    assert.ok(Math.abs(counter.text(prose) - exact) <= 2, `${counter.text(prose)} vs ${exact}`);
    const n = counter.text("x".repeat(1024 * 1024));
    assert.ok(n > 100_000 && n < 1024 * 1024, `a plausible count (${n})`);
  });
});
