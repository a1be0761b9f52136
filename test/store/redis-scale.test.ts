/**
 * Bulk work grows linearly: 10,000 and 100,000 credentials inserted, listed
 * and removed, each step timed. Database 11 of the shared server, a random prefix.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { makeEvent } from "../../src/pool/audit.ts";
import { openRedisStore } from "../../src/store/redis/index.ts";
import type { Store } from "../../src/store/types.ts";
import { fakeKey, insertItem, record } from "../helpers/records.ts";
import { deletePrefix, redisUrl, requireRedis, testPrefix } from "./redis-harness.ts";

const DB = 11;
const url = redisUrl(DB);
const prefix = testPrefix("scale");

interface Timings {
  insert: number;
  list: number;
  remove: number;
}

async function roundTrip(store: Store, n: number, offset: number): Promise<Timings> {
  const records = Array.from({ length: n }, (_, i) => record(fakeKey(offset + i)));
  const items = records.map((r) => insertItem(r));
  const removals = records.map((r) => ({ id: r.id, event: makeEvent(r, { kind: "removed", reason: "bulk" }, "scale") }));
  let start = performance.now();
  const inserted = await store.credentials.insertMany(items);
  const insert = performance.now() - start;
  assert.equal(inserted.added.length, n);
  start = performance.now();
  const listed = await store.credentials.list();
  const list = performance.now() - start;
  assert.equal(listed.length, n);
  start = performance.now();
  const removed = await store.credentials.removeMany(removals);
  const remove = performance.now() - start;
  assert.equal(removed.length, n);
  assert.equal((await store.credentials.list()).length, 0);
  return { insert, list, remove };
}

const fmt = (t: Timings): string => `insert ${t.insert.toFixed(0)} ms, list ${t.list.toFixed(0)} ms, remove ${t.remove.toFixed(0)} ms`;

describe("redis store: scale", () => {
  let store: Store;
  before(async () => {
    await requireRedis(url);
    store = await openRedisStore(url, { prefix, instance: "scale" });
  });
  after(async () => {
    await store?.close();
    await deletePrefix(url, prefix);
  });

  it("inserts, lists and removes 100,000 credentials in linear time", async (t) => {
    await roundTrip(store, 2_000, 0); // warm up: scripts loaded, JIT warm
    const small = await roundTrip(store, 10_000, 100_000);
    const large = await roundTrip(store, 100_000, 200_000);
    t.diagnostic(`10,000 keys: ${fmt(small)}`);
    t.diagnostic(`100,000 keys: ${fmt(large)}`);
    const total = (x: Timings): number => x.insert + x.list + x.remove;
    const ratio = total(large) / total(small);
    t.diagnostic(`100k/10k: all steps ${ratio.toFixed(1)}x; ${(["insert", "list", "remove"] as const).map((s) => `${s} ${(large[s] / small[s]).toFixed(1)}x`).join(", ")} (linear is 10x)`);
    assert.ok(ratio < 20, `100,000 keys took ${ratio.toFixed(1)}x the time of 10,000`);
    // One step alone is noisier (a short 10k step, a busy shared Redis); a quadratic step would be ~100x.
    for (const step of ["insert", "list", "remove"] as const) {
      assert.ok(large[step] / small[step] < 35, `${step} of 100,000 took ${(large[step] / small[step]).toFixed(1)}x the time of 10,000`);
    }
  });
});
