/**
 * How a streamed answer leaves the gateway, counted on the gateway's side of the client's
 * connection. One that came whole: in one socket write (headers, events and the chunked
 * terminator together, after metering), under load or alone. One that comes over time: a write
 * per piece as it arrives.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { countWrites, harness, key, type Harness } from "./helpers.ts";

/** A streamed chat completion on a fresh connection: the body as received and the time its first and last bytes came. */
function streamed(h: Harness, extra: Record<string, unknown> = {}): Promise<{ status: number; body: string; first: number; last: number }> {
  const body = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "tell me a story" }], stream: true, ...extra });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    const req = request(`${h.gw.url}/v1/chat/completions`, { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        if (chunks.length === 0) first = performance.now() - t0;
        chunks.push(c);
      });
      res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), first, last: performance.now() - t0 }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Runs `fn` while the gateway counts `n` more requests in flight (as under load). */
async function underLoad<T>(h: Harness, n: number, fn: () => Promise<T>): Promise<T> {
  h.gw.context.metrics.inflight += n;
  try {
    return await fn();
  } finally {
    h.gw.context.metrics.inflight -= n;
  }
}

describe("a streamed answer that came whole", () => {
  let h: Harness;
  before(async () => {
    h = await harness({ [key("whole")]: "ok" });
  });
  after(() => h.close());

  it("leaves in one write under load, usage event removed, [DONE] and the terminator included", async () => {
    const writes = countWrites(h.gw);
    const r = await underLoad(h, 3, () => streamed(h));
    assert.equal(r.status, 200);
    assert.match(r.body, /data: \[DONE\]\n\n$/);
    assert.doesNotMatch(r.body, /"usage":\{/, "the client did not ask for the usage event");
    assert.equal(writes.count(), 1);
    // Its usage was metered from the event the client never saw.
    const usage = (await (await h.admin("/admin/usage?groupBy=credential")).json()) as { data: { requests: number; completionTokens: number }[] };
    assert.deepEqual(
      usage.data.map((row) => [row.requests, row.completionTokens]),
      [[1, h.sim.stats(key("whole")).completion_tokens]],
    );
  });

  it("leaves in one write under load with the usage event for a client that asked for it", async () => {
    const writes = countWrites(h.gw);
    const r = await underLoad(h, 3, () => streamed(h, { stream_options: { include_usage: true } }));
    assert.equal(r.status, 200);
    assert.match(r.body, /"usage":\{"prompt_tokens":\d+/);
    assert.match(r.body, /data: \[DONE\]\n\n$/);
    assert.equal(writes.count(), 1);
  });

  it("leaves in one write alone in flight too, after metering (all of it is here: a write of its events first cost a write and a wake-up more)", async () => {
    const writes = countWrites(h.gw);
    const r = await streamed(h);
    assert.match(r.body, /data: \[DONE\]\n\n$/);
    assert.doesNotMatch(r.body, /"usage":\{/);
    assert.equal(writes.count(), 1);
  });
});

describe("a streamed answer that comes over time", () => {
  let h: Harness;
  before(async () => {
    h = await harness({ [key("slow")]: "slow:ms=0,chunk_ms=25" });
  });
  after(() => h.close());

  it("leaves piece by piece, the first long before the last", async () => {
    const writes = countWrites(h.gw);
    const r = await streamed(h);
    assert.equal(r.status, 200);
    assert.match(r.body, /data: \[DONE\]\n\n$/);
    assert.ok(writes.count() > 5, `${writes.count()} writes`);
    assert.ok(r.last - r.first > 100, `first byte at ${r.first.toFixed(0)} ms, last at ${r.last.toFixed(0)} ms`);
  });
});
