import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import { formatDuration } from "../../src/sim/index.ts";
import { SlidingWindow } from "../../src/sim/keys/sliding-window.ts";
import { client, HELLO, key, rejectsWith, testSim } from "./helpers.ts";

const RL = key("ratelimited");

/** Parses `20ms`, `1.5s`, `1m2s`. */
function durationMs(text: string): number {
  const m = /^(?:(\d+)m)?(?:([\d.]+)s)?$|^(\d+)ms$/.exec(text);
  assert.ok(m, `bad duration ${text}`);
  if (m[3] !== undefined) return Number(m[3]);
  return Number(m[1] ?? 0) * 60_000 + Number(m[2] ?? 0) * 1000;
}

describe("rate limits", () => {
  it("rate-limited: 3 RPM by default; the 4th request is 429 with retry-after; remaining and reset move", async (t) => {
    const sim = await testSim(t, { keys: { [RL]: "rate-limited" } });
    const openai = client(sim, RL);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }).withResponse();
      assert.equal(response.headers.get("x-ratelimit-limit-requests"), "3");
      remaining.push(response.headers.get("x-ratelimit-remaining-requests")!);
      assert.match(response.headers.get("x-ratelimit-reset-requests")!, /^\d+(\.\d+)?s$|^\d+ms$/);
    }
    assert.deepEqual(remaining, ["2", "1", "0"]);
    const err = await rejectsWith(openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
    assert.equal(err.code, "rate_limit_exceeded");
    assert.equal(err.type, "requests");
    assert.match(err.message, /^429 Rate limit reached for gpt-4o-mini in organization org-sim on requests per min \(RPM\): Limit 3, Used 3, Requested 1\. Please try again in \d+(\.\d+)?s\./);
    const retryAfter = Number(err.headers.get("retry-after"));
    const retryAfterMs = Number(err.headers.get("retry-after-ms"));
    assert.ok(retryAfter >= 50 && retryAfter <= 60, `retry-after ${retryAfter}`);
    assert.ok(retryAfterMs > 50_000 && retryAfterMs <= 60_000);
    assert.equal(err.headers.get("x-ratelimit-remaining-requests"), "0");
    // Limits are per model: another model still has its own 3.
    const other = await openai.chat.completions.create({ model: "gpt-4o", messages: HELLO }).withResponse();
    assert.equal(other.response.headers.get("x-ratelimit-remaining-requests"), "2");
    assert.deepEqual(sim.stats(RL).statuses, { 200: 4, 429: 1 });
  });

  it("the window really slides: a short window lets requests through again", async (t) => {
    const sim = await testSim(t, { keys: { [RL]: "rate-limited:rpm=2,window_ms=1000" } });
    const openai = client(sim, RL);
    const first = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }).withResponse();
    const reset1 = durationMs(first.response.headers.get("x-ratelimit-reset-requests")!);
    assert.ok(reset1 > 0 && reset1 <= 1000, `reset ${reset1}`);
    await new Promise((r) => setTimeout(r, 400));
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
    const err = await rejectsWith(openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }), OpenAI.RateLimitError);
    const waitMs = Number(err.headers.get("retry-after-ms"));
    assert.ok(waitMs > 0 && waitMs <= 600, `retry-after-ms ${waitMs}`);
    await new Promise((r) => setTimeout(r, waitMs + 30));
    const ok = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }).withResponse();
    assert.equal(ok.response.status, 200);
    assert.equal(ok.response.headers.get("x-ratelimit-remaining-requests"), "0", "the second request is still in the window");
    // The first request left the window, so the time to a full reset is the second one's.
    const reset3 = durationMs(ok.response.headers.get("x-ratelimit-reset-requests")!);
    assert.ok(reset3 > 0 && reset3 <= 1000);
  });

  it("TPM: type tokens when the window is full; request too large by itself says so", async (t) => {
    const sim = await testSim(t, { keys: { [RL]: "rate-limited:rpm=100,tpm=100" } });
    const openai = client(sim, RL);
    const first = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }).withResponse();
    const used = first.data.usage!.total_tokens;
    assert.equal(first.response.headers.get("x-ratelimit-remaining-tokens"), String(100 - used));
    let err: InstanceType<typeof OpenAI.RateLimitError> | undefined;
    for (let i = 0; i < 5 && err === undefined; i++) {
      try {
        await openai.chat.completions.create({ model: "gpt-4o-mini", messages: HELLO });
      } catch (e) {
        if (e instanceof OpenAI.RateLimitError) err = e;
        else throw e;
      }
    }
    assert.ok(err, "the token window fills up");
    assert.equal(err.type, "tokens");
    assert.match(err.message, /on tokens per min \(TPM\): Limit 100, Used \d+, Requested \d+/);
    const big = "word ".repeat(200);
    const tooLarge = await rejectsWith(openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: big }] }), OpenAI.RateLimitError);
    assert.equal(tooLarge.code, "rate_limit_exceeded");
    assert.equal(tooLarge.type, "tokens");
    assert.match(tooLarge.message, /^429 Request too large for gpt-4o in organization org-sim on tokens per min \(TPM\): Limit 100, Requested \d+\./);
  });

  it("ok keys carry generous limit headers", async (t) => {
    const sim = await testSim(t, { keys: { [RL]: "ok" } });
    const { response } = await client(sim, RL).chat.completions.create({ model: "gpt-4o-mini", messages: HELLO }).withResponse();
    assert.ok(Number(response.headers.get("x-ratelimit-limit-requests")) >= 1_000_000);
    assert.ok(Number(response.headers.get("x-ratelimit-remaining-tokens")) > 1_000_000);
  });

  it("formatDuration speaks OpenAI's format", () => {
    assert.equal(formatDuration(20), "20ms");
    assert.equal(formatDuration(1000), "1s");
    assert.equal(formatDuration(2500), "2.5s");
    assert.equal(formatDuration(360_000), "6m0s");
    assert.equal(formatDuration(3_723_000), "1h2m3s");
    assert.equal(formatDuration(0), "0s");
  });

  it("SlidingWindow counts exactly within its slots", () => {
    const w = new SlidingWindow(3, 60_000);
    const t0 = 1_000_000_000_000;
    w.add(t0, 1);
    w.add(t0 + 10_000, 2);
    assert.equal(w.used(t0 + 20_000), 3);
    assert.equal(w.waitFor(t0 + 20_000, 1), 40_000);
    assert.equal(w.resetMs(t0 + 20_000), 50_000);
    assert.equal(w.used(t0 + 60_000), 2);
    assert.equal(w.used(t0 + 70_000), 0);
  });
});
