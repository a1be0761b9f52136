/**
 * What the Keys table shows: a key's requests, cost and last use stay in the
 * pool's listings after the write-behind flush (the store's counter bump makes
 * no change-feed entry, so the instance must add the flushed counts itself).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ask, simKey, simPool, type SimPool } from "../helpers/sim-pool.ts";

describe("key counters across the stats flush", () => {
  let sp: SimPool;
  const A = simKey("counted");
  before(async () => {
    sp = await simPool({ [A]: "ok" }, { prices: { "gpt-4o-mini": { input: 1, output: 1 } } });
  });
  after(() => sp.close());

  it("keeps requests, spend and last use in list() and get() once flushed, without counting twice", async () => {
    for (let i = 0; i < 3; i++) await ask(sp.client);
    const pending = sp.pool.get(A)!;
    assert.equal(pending.requests, 3);
    assert.ok(pending.spentUsd > 0 && pending.lastUsedAt !== null);
    await sleep(2300); // past the 2 s flush
    const flushed = sp.pool.list()[0]!;
    assert.equal(flushed.requests, 3);
    assert.equal(flushed.spentUsd, pending.spentUsd);
    assert.equal(flushed.lastUsedAt, pending.lastUsedAt);
    const stored = (await sp.pool.store.credentials.list())[0]!;
    assert.equal(stored.requests, 3);
    await ask(sp.client);
    assert.equal(sp.pool.get(A)!.requests, 4);
  });
});
