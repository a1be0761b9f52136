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
    const body = sse({ choices: [{ delta: { content: reply } }] });
    const e = await estimateUsage("chat", "gpt-4o-mini", request, body, true);
    assert.deepEqual(e, { promptTokens: counter.chat([{ role: "user", content: "What is keypool?" }]), completionTokens: counter.text(reply) });
    const half = await estimateUsage("chat", "gpt-4o-mini", request, body, true, 0.5);
    assert.equal(half.completionTokens, 2 * counter.text(reply));
    const emb = await estimateUsage("embeddings", "text-embedding-3-small", { input: ["a b", "c"] }, Buffer.from("{}"), false);
    assert.equal(emb.completionTokens, 0);
    assert.ok(emb.promptTokens > 0);
  });
});

describe("AnswerKeeper", () => {
  it("keeps a stream whole up to its cap, then only counts, and says which share it kept", () => {
    const k = new AnswerKeeper();
    k.push(Buffer.from("ab"));
    k.push(Buffer.from("cd"));
    assert.equal(k.bytes().toString(), "abcd");
    assert.equal(k.share(), 1);
    const big = new AnswerKeeper();
    for (let i = 0; i < 3; i++) big.push(Buffer.alloc(128 * 1024, 0x61));
    big.push(Buffer.alloc(256 * 1024, 0x61));
    assert.equal(big.bytes().length, 256 * 1024);
    assert.ok(Math.abs(big.share() - 256 / 640) < 1e-9);
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
