/** When the meter writes: at once for a request alone in flight, batched over a loop turn under load. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { UsageRecord } from "../../src/pool/types.ts";
import { harness, key, type Harness } from "./helpers.ts";

describe("the gateway's meter", () => {
  let h: Harness;
  let batches: number[];
  before(async () => {
    h = await harness({ [key("metered")]: "ok" });
    const recordUsage = h.pool.recordUsage.bind(h.pool);
    h.pool.recordUsage = (records: readonly UsageRecord[]) => {
      batches.push(records.length);
      return recordUsage(records);
    };
  });
  after(() => h.close());

  const credential = (): string => h.pool.get(key("metered"))!.id;

  it("hands a lone request's record to the store before record() returns (no loop turn waited)", async () => {
    batches = [];
    h.gw.context.metrics.inflight = 1;
    try {
      const stored = h.gw.context.meter.record(credential(), null, "gpt-4o-mini", 10, 5);
      assert.deepEqual(batches, [1]);
      await stored;
    } finally {
      h.gw.context.metrics.inflight = 0;
    }
  });

  it("batches the records of requests ending in the same turn while others are in flight", async () => {
    batches = [];
    h.gw.context.metrics.inflight = 3;
    try {
      const a = h.gw.context.meter.record(credential(), null, "gpt-4o-mini", 10, 5);
      const b = h.gw.context.meter.record(credential(), null, "gpt-4o-mini", 20, 7);
      assert.deepEqual(batches, []);
      await Promise.all([a, b]);
      assert.deepEqual(batches, [2]);
    } finally {
      h.gw.context.metrics.inflight = 0;
    }
    const usage = await h.pool.store.usage.query({ groupBy: ["credential"] });
    assert.equal(usage.find((r) => r.credentialId === credential())?.promptTokens, 40);
  });
});
