/** StatsBuffer: counters written behind in batches, retried under their id, never counted twice. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StatsBuffer } from "../../src/pool/stats-buffer.ts";
import type { StatsDelta, Store } from "../../src/store/types.ts";

/** A store whose bumps behave like Redis's (a key skips the batch id it took last), and that can fail after or before writing. */
function fakeStore() {
  const totals = new Map<string, { requests: number; spentUsd: number; batch: string }>();
  const calls: string[] = [];
  let fail: "after-write" | "before-write" | null = null;
  const store = {
    credentials: {
      async bumpStats(deltas: readonly StatsDelta[], batchId = "") {
        calls.push(batchId);
        if (fail === "before-write") throw new Error("store away");
        for (const d of deltas) {
          const t = totals.get(d.id) ?? { requests: 0, spentUsd: 0, batch: "" };
          if (batchId !== "" && t.batch === batchId) continue;
          totals.set(d.id, { requests: t.requests + d.requests, spentUsd: t.spentUsd + d.spentUsd, batch: batchId });
        }
        if (fail === "after-write") throw new Error("timed out (but written)");
      },
    },
  } as unknown as Store;
  return { store, totals, calls, failNext: (how: typeof fail) => (fail = how) };
}

describe("StatsBuffer", () => {
  it("retries a batch the store refused under the same id: written once though the first try landed", async () => {
    const f = fakeStore();
    const flushed: number[] = [];
    const buf = new StatsBuffer(f.store, 60_000, (b) => flushed.push(b.length));
    buf.add("k1", 2, 0, 0.5, 1);
    f.failNext("after-write");
    await assert.rejects(buf.flush());
    assert.equal(buf.pending("k1")?.requests, 2, "still pending: the store did not say it has it");
    f.failNext(null);
    buf.add("k1", 1, 0, 0.25, 2);
    await buf.flush();
    assert.deepEqual(f.totals.get("k1"), { requests: 3, spentUsd: 0.75, batch: f.calls.at(-1) });
    assert.equal(f.calls[0], f.calls[1], "the refused batch went again under its id");
    assert.notEqual(f.calls[1], f.calls[2], "newer counts in a batch of their own");
    assert.deepEqual(flushed, [1, 1]);
    assert.equal(buf.pending("k1"), undefined);
    await buf.close();
  });

  it("holds two batches through a long outage, however many flushes fail, and loses no count", async () => {
    const f = fakeStore();
    const buf = new StatsBuffer(f.store, 60_000);
    f.failNext("before-write");
    for (let i = 0; i < 10; i++) {
      buf.add(`k${i % 3}`, 1, 0, 0.1, i);
      await assert.rejects(buf.flush());
    }
    assert.equal(new Set(f.calls).size, 1, "every try sent the first batch again, nothing after it");
    assert.equal([0, 1, 2].reduce((n, i) => n + (buf.pending(`k${i}`)?.requests ?? 0), 0), 10);
    f.failNext(null);
    await buf.flush();
    assert.equal([...f.totals.values()].reduce((n, t) => n + t.requests, 0), 10);
    assert.equal(new Set(f.calls).size, 2, "two batches in all");
    await buf.close();
  });
});
