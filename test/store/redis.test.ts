/**
 * The Redis store against the conformance suite, then what is its own (key
 * layout, sealing, caps, batching). Database 9 of the shared server, random prefixes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Redis } from "ioredis";
import { KeypoolError } from "../../src/errors/keypool-error.ts";
import { makeEvent } from "../../src/pool/audit.ts";
import { createSecretBox } from "../../src/store/secret-box.ts";
import { parseRedisUrl } from "../../src/store/redis/connection.ts";
import { WRITE_BATCH } from "../../src/store/redis/credentials.ts";
import { openRedisStore, type RedisStoreOptions } from "../../src/store/redis/index.ts";
import type { Change, CredentialPatch, Store } from "../../src/store/types.ts";
import { fakeKey, insertItem, record, sleep, waitFor } from "../helpers/records.ts";
import { storeConformance } from "./conformance.ts";
import { deletePrefix, rawClient, redisUrl, requireRedis, testPrefix } from "./redis-harness.ts";

const DB = 9;

storeConformance(
  "redis",
  async () => {
    const url = redisUrl(DB);
    await requireRedis(url);
    const prefix = testPrefix("conformance");
    const store = await openRedisStore(url, { prefix, instance: "conformance" });
    return {
      store,
      reopen: () => openRedisStore(url, { prefix, instance: "conformance-2" }),
      async cleanup() {
        await store.close();
        await deletePrefix(url, prefix);
      },
    };
  },
  { shared: true },
);

describe("redis store: its own behaviour", () => {
  const url = redisUrl(DB);
  const prefix = testPrefix("own");
  const opened: Store[] = [];
  let raw: Redis;
  const open = async (options: RedisStoreOptions = {}): Promise<Store> => {
    const store = await openRedisStore(url, { prefix, ...options });
    opened.push(store);
    return store;
  };
  before(async () => {
    await requireRedis(url);
    raw = rawClient(url);
    await raw.connect();
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    raw?.disconnect();
    for (const p of [prefix, `${prefix}other:`, `${prefix}sealed:`, `${prefix}capped:`]) await deletePrefix(url, p);
  });

  it("parses redis URLs and never repeats the password", () => {
    const plain = parseRedisUrl("redis://10.0.0.5:6380/4");
    assert.deepEqual(plain.options, { host: "10.0.0.5", port: 6380, db: 4 });
    const secure = parseRedisUrl("rediss://user:p%40ss@cache.example:6390/2");
    assert.equal(secure.options.password, "p@ss");
    assert.equal(secure.options.username, "user");
    assert.ok(secure.options.tls);
    assert.equal(secure.where, "rediss://cache.example:6390/2");
    assert.equal(parseRedisUrl("redis://localhost").options.db, 0);
    assert.throws(() => parseRedisUrl("http://localhost:6379/0"), (err) => KeypoolError.is(err) && err.code === "KP_CONFIG");
    assert.throws(() => parseRedisUrl("redis://localhost:6379/x"), /database number/);
  });

  it("keeps every key under its prefix, in the documented layout", async () => {
    const store = await open();
    const other = await open({ prefix: `${prefix}other:` });
    const r = record(fakeKey(500));
    await store.credentials.insertMany([insertItem(r)]);
    assert.equal(await raw.sismember(`${prefix}creds`, r.id), 1);
    assert.equal(await raw.hget(`${prefix}cred:${r.id}`, "state"), "active");
    assert.equal(await raw.hget(`${prefix}cred:${r.id}`, "label"), null, "a null is an absent field");
    assert.equal(await raw.zcard(`${prefix}events:cred:${r.id}`), 1);
    assert.equal(await raw.zcard(`${prefix}events:kind:added`), 1);
    assert.equal(await other.credentials.get(r.id), null, "another prefix is another pool");
    assert.equal((await other.events.query({})).length, 0);
  });

  it("seals secrets and meta at rest with a SecretBox, and refuses them without it", async () => {
    const sealedPrefix = `${prefix}sealed:`;
    const sealed = await open({ prefix: sealedPrefix, secretBox: createSecretBox("passphrase") });
    const r = record(fakeKey(501), { meta: { cfClearance: "cf-secret" } });
    await sealed.credentials.insertMany([insertItem(r)]);
    const stored = await raw.hmget(`${sealedPrefix}cred:${r.id}`, "secret", "meta");
    assert.ok(stored.every((v) => v?.startsWith("enc:v1:")), "secret and meta are encrypted");
    assert.ok(!stored.some((v) => v?.includes(r.secret) || v?.includes("cf-secret")));
    assert.deepEqual(await sealed.credentials.get(r.id), r);
    const plain = await open({ prefix: sealedPrefix });
    await assert.rejects(plain.credentials.get(r.id), /KEYPOOL_SECRET_KEY/);
  });

  it("caps the audit log globally and per credential, newest kept", async () => {
    const store = await open({ prefix: `${prefix}capped:`, eventCap: 5, eventCapPerCredential: 3 });
    const r = record(fakeKey(502));
    const t0 = Date.now();
    await store.events.append(Array.from({ length: 10 }, (_, i) => makeEvent(r, { kind: "state", reason: `e${i}` }, "t", t0 + i)));
    assert.deepEqual((await store.events.query({})).map((e) => e.reason), ["e9", "e8", "e7", "e6", "e5"]);
    assert.deepEqual((await store.events.query({ credentialId: r.id })).map((e) => e.reason), ["e9", "e8", "e7"]);
    assert.equal((await store.events.query({ kind: "state" })).length, 5);
  });

  it("filters a credential's events by kind across pages", async () => {
    const store = await open();
    const r = record(fakeKey(503));
    const t0 = Date.now();
    const events = Array.from({ length: 250 }, (_, i) => makeEvent(r, { kind: i % 100 === 7 ? "updated" : "state", reason: `e${i}` }, "t", t0 + i));
    await store.events.append(events);
    const updated = await store.events.query({ credentialId: r.id, kind: "updated" });
    assert.deepEqual(updated.map((e) => e.reason), ["e207", "e107", "e7"]);
    const older = await store.events.query({ credentialId: r.id, kind: "updated", before: updated[0]!.id, limit: 1 });
    assert.deepEqual(older.map((e) => e.reason), ["e107"]);
  });

  it("announces a bulk insert with one change per batch, not one per key", async () => {
    const store = await open();
    const changes: Change[] = [];
    const off = store.changes.subscribe((c) => changes.push(c));
    const rs = Array.from({ length: 2500 }, (_, i) => record(fakeKey(600_000 + i)));
    await store.credentials.insertMany(rs.map((r) => insertItem(r)));
    await waitFor(() => changes.reduce((n, c) => n + c.ids.length, 0) >= 2500);
    off();
    assert.equal(changes.length, Math.ceil(2500 / WRITE_BATCH));
    await store.credentials.removeMany(rs.map((r) => ({ id: r.id, event: makeEvent(r, { kind: "removed", reason: "x" }, "t") })));
  });

  it("reports an id given twice in one insert once as added and once as a duplicate", async () => {
    const store = await open();
    const r = record(fakeKey(504));
    assert.deepEqual(await store.credentials.insertMany([insertItem(r), insertItem(r)]), { added: [r.id], duplicates: [r.id] });
    assert.equal((await store.events.query({ credentialId: r.id, kind: "added" })).length, 1);
  });

  it("never recreates a removed credential from stats, and lets its own event index expire", async () => {
    const store = await open({ removedEventsTtlSec: 3600 });
    const r = record(fakeKey(505));
    await store.credentials.insertMany([insertItem(r)]);
    await store.credentials.removeMany([{ id: r.id, event: makeEvent(r, { kind: "removed", reason: "x" }, "t") }]);
    await store.credentials.bumpStats([{ id: r.id, requests: 5, failures: 1, spentUsd: 1, lastUsedAt: Date.now() }]);
    assert.equal(await store.credentials.update(r.id, { label: "ghost" }), null);
    assert.equal(await raw.exists(`${prefix}cred:${r.id}`), 0, "no ghost hash");
    const ttl = await raw.ttl(`${prefix}events:cred:${r.id}`);
    assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
    await store.credentials.insertMany([insertItem(r)]);
    assert.equal(await raw.ttl(`${prefix}events:cred:${r.id}`), -1, "added again: kept again");
  });

  it("counts a stats batch given again under its id once (a retry after a timeout or a batch cut half-way)", async () => {
    const store = await open();
    const a = record(fakeKey(506));
    const b = record(fakeKey(507));
    await store.credentials.insertMany([insertItem(a), insertItem(b)]);
    const batch = [
      { id: a.id, requests: 3, failures: 1, spentUsd: 0.25, lastUsedAt: 1000 },
      { id: b.id, requests: 2, failures: 0, spentUsd: 0.5, lastUsedAt: 1000 },
    ];
    await store.credentials.bumpStats(batch.slice(0, 1), "inst1-1"); // only its first key landed
    await store.credentials.bumpStats([{ id: a.id, requests: 1, failures: 0, spentUsd: 0.25, lastUsedAt: 2000 }], "inst2-1"); // another instance meanwhile
    await store.credentials.bumpStats(batch, "inst1-1"); // the retry of the whole batch
    const [ga, gb] = [await store.credentials.get(a.id), await store.credentials.get(b.id)];
    assert.deepEqual([ga?.requests, ga?.failures, ga?.spentUsd, ga?.lastUsedAt], [4, 1, 0.5, 2000]);
    assert.deepEqual([gb?.requests, gb?.spentUsd], [2, 0.5]);
  });

  it("remembers a counted usage record for usageDedupTtlSec", async () => {
    const store = await open({ usageDedupTtlSec: 600 });
    const id = `u_${prefix}`;
    await store.usage.record([{ id, time: Date.now(), credentialId: "key_x", tokenId: null, model: "m", promptTokens: 1, completionTokens: 1, costUsd: 0, estimated: false }]);
    const ttl = await raw.ttl(`${prefix}usage:seen:${id}`);
    assert.ok(ttl > 590 && ttl <= 600, `ttl ${ttl}`);
  });

  it("refuses to patch fields the store owns", async () => {
    const store = await open();
    const r = record(fakeKey(506));
    await store.credentials.insertMany([insertItem(r)]);
    await assert.rejects(store.credentials.update(r.id, { rev: 99 } as unknown as CredentialPatch), /cannot update credential field "rev"/);
    assert.equal((await store.credentials.get(r.id))?.rev, r.rev);
  });

  it("ignores malformed messages on the change channel", async () => {
    const store = await open();
    const changes: Change[] = [];
    const off = store.changes.subscribe((c) => changes.push(c));
    await raw.publish(`${prefix}changes`, "not json");
    await raw.publish(`${prefix}changes`, JSON.stringify({ type: "explode", ids: ["x"] }));
    await raw.publish(`${prefix}changes`, JSON.stringify({ type: "remove", ids: ["key_1", 2] }));
    await waitFor(() => changes.length > 0);
    await sleep(20);
    off();
    assert.deepEqual(changes, [{ type: "remove", ids: ["key_1"] }]);
  });
});
