/**
 * The behaviour every store must have. Each store's test file calls
 * `storeConformance` with a factory; the pool relies on nothing else.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { makeEvent } from "../../src/pool/audit.ts";
import type { UsageRecord } from "../../src/pool/types.ts";
import type { Change, Store } from "../../src/store/types.ts";
import { fakeKey, insertItem, record, waitFor } from "../helpers/records.ts";
import { chatConformance } from "./conformance-chat.ts";

export interface StoreHarness {
  store: Store;
  /** A second, independent connection to the same data (another process would see this). */
  reopen?: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

const HOUR = 3_600_000;

function usage(id: string, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id,
    time: Date.UTC(2026, 10, 20, 10, 30),
    credentialId: "key_a",
    tokenId: "tok_1",
    model: "gpt-4o-mini",
    promptTokens: 10,
    completionTokens: 5,
    costUsd: 0.001,
    estimated: false,
    ...over,
  };
}

export interface ConformanceOptions {
  /** The store is reachable from several processes: `open` gives a harness with `reopen`. */
  shared: boolean;
}

export function storeConformance(name: string, open: () => Promise<StoreHarness>, options: ConformanceOptions): void {
  describe(`store conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    before(async () => {
      h = await open();
      store = h.store;
    });
    after(async () => {
      await h.cleanup();
    });

    it("inserts, recognises duplicates, and round-trips every field", async () => {
      const a = record(fakeKey(1), {
        label: "ünïcode ✓",
        models: ["gpt-4o", "gpt-4o-mini"],
        meta: { userAgent: "UA/1.0", cfClearance: "cf" },
        baseURL: "http://relay.example/v1",
        authStyle: "api-key",
        weight: 3,
        budgetUsd: 12.5,
      });
      const b = record(fakeKey(2));
      const first = await store.credentials.insertMany([insertItem(a), insertItem(b)]);
      assert.deepEqual(first.added.sort(), [a.id, b.id].sort());
      assert.deepEqual(first.duplicates, []);
      const again = await store.credentials.insertMany([insertItem(a)]);
      assert.deepEqual(again, { added: [], duplicates: [a.id] });
      assert.deepEqual(await store.credentials.get(a.id), a);
      const many = await store.credentials.getMany([b.id, "key_missing", a.id]);
      assert.deepEqual(many.map((r) => r.id).sort(), [a.id, b.id].sort());
      assert.equal(await store.credentials.get("key_missing"), null);
      const added = await store.events.query({ credentialId: a.id, kind: "added" });
      assert.equal(added.length, 1, "a duplicate insert writes no second 'added' event");
    });

    it("updates atomically with compare-and-set on the state", async () => {
      const r = record(fakeKey(3));
      await store.credentials.insertMany([insertItem(r)]);
      const ev = makeEvent(r, { kind: "state", from: "active", to: "retired", reason: "invalid_api_key", evidence: { status: 401, code: "invalid_api_key" } }, "i1");
      const next = await store.credentials.update(r.id, { state: "retired", reason: "invalid_api_key", since: 5 }, { from: ["active", "cooling"], event: ev });
      assert.ok(next);
      assert.equal(next.state, "retired");
      assert.equal(next.rev, r.rev + 1);
      assert.equal(next.secret, r.secret);
      const stale = makeEvent(r, { kind: "state", from: "active", to: "cooling", reason: "x" }, "i2");
      assert.equal(await store.credentials.update(r.id, { state: "cooling" }, { from: ["active"], event: stale }), null);
      assert.equal((await store.credentials.get(r.id))?.state, "retired", "a failed CAS changes nothing");
      const events = await store.events.query({ credentialId: r.id, kind: "state" });
      assert.deepEqual(events.map((e) => e.reason), ["invalid_api_key"], "a failed CAS writes no event");
      assert.deepEqual(events[0]?.evidence, { status: 401, code: "invalid_api_key" });
      assert.equal(await store.credentials.update("key_missing", { state: "active" }), null);
      const cooled = await store.credentials.update(r.id, { modelCooldowns: { "gpt-4o": 123 }, missingModels: ["o1"], secret: "rotated-secret" });
      assert.deepEqual(cooled?.modelCooldowns, { "gpt-4o": 123 });
      assert.deepEqual(cooled?.missingModels, ["o1"]);
      assert.equal((await store.credentials.get(r.id))?.secret, "rotated-secret");
    });

    it("removes in bulk and reports what existed", async () => {
      const rs = [record(fakeKey(10)), record(fakeKey(11))];
      await store.credentials.insertMany(rs.map((r) => insertItem(r)));
      const items = [...rs, record(fakeKey(12))].map((r) => ({ id: r.id, event: makeEvent(r, { kind: "removed", reason: "by hand" }, "t") }));
      const removed = await store.credentials.removeMany(items);
      assert.deepEqual(removed.sort(), rs.map((r) => r.id).sort());
      assert.equal(await store.credentials.get(rs[0]!.id), null);
      assert.equal((await store.events.query({ kind: "removed", credentialId: rs[1]!.id })).length, 1);
      assert.equal((await store.events.query({ kind: "removed", credentialId: record(fakeKey(12)).id })).length, 0);
    });

    it("bumps stats without touching rev", async () => {
      const r = record(fakeKey(20));
      await store.credentials.insertMany([insertItem(r)]);
      await store.credentials.bumpStats([{ id: r.id, requests: 3, failures: 1, spentUsd: 0.25, lastUsedAt: 1000 }]);
      await store.credentials.bumpStats([{ id: r.id, requests: 2, failures: 0, spentUsd: 0.5, lastUsedAt: 500 }, { id: "key_gone", requests: 1, failures: 0, spentUsd: 0, lastUsedAt: null }]);
      const got = await store.credentials.get(r.id);
      assert.equal(got?.requests, 5);
      assert.equal(got?.failures, 1);
      assert.ok(Math.abs((got?.spentUsd ?? 0) - 0.75) < 1e-9);
      assert.equal(got?.lastUsedAt, 1000, "last used never goes back in time");
      assert.equal(got?.rev, r.rev);
    });

    it("queries events newest first, filtered and paged", async () => {
      const r = record(fakeKey(30));
      const t0 = Date.now();
      const evs = Array.from({ length: 5 }, (_, i) => makeEvent(r, { kind: "state", from: "active", to: "cooling", reason: `e${i}` }, "t", t0 + i));
      await store.events.append(evs);
      const got = await store.events.query({ credentialId: r.id });
      assert.deepEqual(got.map((e) => e.reason), ["e4", "e3", "e2", "e1", "e0"]);
      const page = await store.events.query({ credentialId: r.id, limit: 2 });
      assert.deepEqual(page.map((e) => e.reason), ["e4", "e3"]);
      const next = await store.events.query({ credentialId: r.id, limit: 2, before: page[1]!.id });
      assert.deepEqual(next.map((e) => e.reason), ["e2", "e1"]);
      assert.deepEqual(got[0], evs[4]);
    });

    it("records usage idempotently and groups it", async () => {
      const base = Date.UTC(2026, 10, 20, 10, 30);
      await store.usage.record([
        usage("u1"),
        usage("u2", { model: "gpt-4o", credentialId: "key_b", promptTokens: 100, completionTokens: 50, costUsd: 0.01 }),
        usage("u3", { time: base + HOUR, tokenId: null }),
        usage("u4", { time: base + 30 * HOUR }),
      ]);
      await store.usage.record([usage("u1"), usage("u2")]); // replayed: not counted again
      const all = await store.usage.query({ from: base - HOUR, to: base + 40 * HOUR });
      assert.equal(all.length, 1);
      assert.equal(all[0]?.requests, 4);
      assert.equal(all[0]?.promptTokens, 130);
      assert.equal(all[0]?.completionTokens, 65);
      const byCred = await store.usage.query({ from: base - HOUR, groupBy: ["credential"] });
      const a = byCred.find((x) => x.credentialId === "key_a");
      assert.equal(a?.requests, 3);
      const byHour = await store.usage.query({ from: base - HOUR, to: base + 2 * HOUR, groupBy: ["hour"] });
      assert.deepEqual(byHour.map((x) => [x.bucket, x.requests]), [[Date.UTC(2026, 10, 20, 10), 2], [Date.UTC(2026, 10, 20, 11), 1]]);
      const byDay = await store.usage.query({ from: base - HOUR, groupBy: ["day", "model"] });
      assert.equal(byDay.filter((x) => x.bucket === Date.UTC(2026, 10, 20)).reduce((s, x) => s + x.requests, 0), 3);
      assert.equal(byDay.filter((x) => x.bucket === Date.UTC(2026, 10, 21)).reduce((s, x) => s + x.requests, 0), 1);
      const byToken = await store.usage.query({ from: base - HOUR, groupBy: ["token"] });
      assert.equal(byToken.find((x) => x.tokenId === null)?.requests, 1);
      const onlyModel = await store.usage.query({ from: base - HOUR, model: "gpt-4o" });
      assert.equal(onlyModel[0]?.requests, 1);
      assert.ok(Math.abs((onlyModel[0]?.costUsd ?? 0) - 0.01) < 1e-9);
    });

    it("grants a lease to one owner until it expires", async () => {
      assert.equal(await store.leases.acquire("health", "a", 200), true);
      assert.equal(await store.leases.acquire("health", "b", 200), false);
      assert.equal(await store.leases.acquire("health", "a", 200), true, "the holder renews");
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(await store.leases.acquire("health", "b", 200), true, "an expired lease passes on");
      await store.leases.release("health", "a"); // not the holder: no effect
      assert.equal(await store.leases.acquire("health", "a", 200), false);
      await store.leases.release("health", "b");
      assert.equal(await store.leases.acquire("health", "a", 200), true);
    });

    it("shares client tokens' rate windows between instances, forgetting one a minute old", async () => {
      const now = Date.now();
      const sec = Math.floor(now / 1000);
      assert.deepEqual(await store.tokens.shareRate("tok_rate", "i1", [sec, 2], now), []);
      assert.deepEqual(await store.tokens.shareRate("tok_rate", "i2", [sec - 1, 1, sec, 1], now), [[sec, 2]]);
      assert.deepEqual(await store.tokens.shareRate("tok_rate", "i1", [sec, 3], now + 100), [[sec - 1, 1, sec, 1]], "an instance's own window is replaced, never returned");
      assert.deepEqual(await store.tokens.shareRate("tok_other", "i2", [sec, 9], now), [], "tokens are apart");
      assert.deepEqual(await store.tokens.shareRate("tok_rate", "i1", [], now + 60_500), [], "i2 shared nothing for a minute");
    });

    it("counts and keeps meta", async () => {
      assert.equal(await store.counters.incr("rr", 64), 64);
      assert.equal(await store.counters.incr("rr", 64), 128);
      assert.equal(await store.meta.get("nothing"), null);
      await store.meta.set("salt", "abc");
      assert.equal(await store.meta.get("salt"), "abc");
    });

    it("announces changes on the feed", async () => {
      const seen: Change[] = [];
      const off = store.changes.subscribe((c) => seen.push(c));
      const r = record(fakeKey(40));
      await store.credentials.insertMany([insertItem(r)]);
      await store.credentials.update(r.id, { state: "disabled" });
      await store.credentials.removeMany([{ id: r.id, event: makeEvent(r, { kind: "removed", reason: "x" }, "t") }]);
      await waitFor(() => seen.some((c) => c.type === "remove" && c.ids.includes(r.id)));
      assert.ok(seen.some((c) => c.type === "upsert" && c.ids.includes(r.id)));
      off();
    });

    it("handles ten thousand keys in bulk", async () => {
      const rs = Array.from({ length: 10_000 }, (_, i) => record(fakeKey(100_000 + i)));
      const res = await store.credentials.insertMany(rs.map((r) => insertItem(r)));
      assert.equal(res.added.length, 10_000);
      const listed = await store.credentials.list();
      assert.ok(listed.length >= 10_000);
      const removed = await store.credentials.removeMany(rs.map((r) => ({ id: r.id, event: makeEvent(r, { kind: "removed", reason: "bulk" }, "t") })));
      assert.equal(removed.length, 10_000);
      assert.equal((await store.credentials.getMany(rs.slice(0, 50).map((r) => r.id))).length, 0);
    });

    chatConformance(() => store);

    // The memory store lives in one process: there is no second connection to test.
    if (!options.shared) return;
    it("shares data and changes with a second connection", async () => {
      assert.ok(h.reopen, "a shared store's harness must offer reopen()");
      const other = await h.reopen();
      try {
        const seen: Change[] = [];
        const off = other.changes.subscribe((c) => seen.push(c));
        const r = record(fakeKey(50));
        await store.credentials.insertMany([insertItem(r)]);
        await waitFor(() => seen.some((c) => c.ids.includes(r.id)));
        assert.equal((await other.credentials.get(r.id))?.id, r.id);
        await other.credentials.update(r.id, { state: "retired" }, { from: ["active"] });
        assert.equal(await store.credentials.update(r.id, { state: "active" }, { from: ["cooling", "quarantined"] }), null);
        assert.equal((await store.credentials.get(r.id))?.state, "retired");
        assert.equal(await other.leases.acquire("L", "x", 1000), true);
        assert.equal(await store.leases.acquire("L", "y", 1000), false);
        off();
      } finally {
        await other.close();
      }
    });
  });
}
