/** Bad paths fail with a StoreError that says what is wrong. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite/index.ts";
import { fakeKey, insertItem, record } from "../helpers/records.ts";
import { tempDir } from "./sqlite-temp.ts";
import { holdWriteLock } from "./write-lock.ts";

const storeError = (pattern: RegExp) => (err: Error & { code?: string }) => {
  assert.equal(err.name, "StoreError");
  assert.equal(err.code, "KP_STORE");
  assert.match(err.message, pattern);
  return true;
};

describe("sqlite store: bad paths", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("a directory", async () => {
    const dir = tmp.file("a-directory");
    mkdirSync(dir);
    await assert.rejects(openSqliteStore(dir), storeError(/is a directory, not a database file/));
  });

  it("a file that is not a database", async () => {
    const path = tmp.file("notes.txt");
    writeFileSync(path, "these are my notes, not a database\n".repeat(50));
    await assert.rejects(openSqliteStore(path), storeError(/notes\.txt is not a SQLite database/));
  });

  it("a path under a file (its directory cannot be created)", async () => {
    const file = tmp.file("plain-file");
    writeFileSync(file, "x");
    await assert.rejects(openSqliteStore(`${file}/sub/keypool.db`), storeError(/cannot create its directory/));
  });

  it("a file another process holds the write lock on: reads go on, writes fail as locked", async () => {
    const path = tmp.file("locked.db");
    const store = await openSqliteStore(path, { busyTimeoutMs: 100 });
    const r = record(fakeKey(1));
    await store.credentials.insertMany([insertItem(r)]);
    const lock = holdWriteLock(path);
    try {
      assert.equal((await store.credentials.get(r.id))?.id, r.id, "WAL: a writer does not block readers");
      await assert.rejects(store.credentials.update(r.id, { state: "disabled" }), storeError(/locked by another process: update credential waited 100 ms/));
    } finally {
      lock.release();
    }
    assert.equal((await store.credentials.update(r.id, { state: "disabled" }))?.state, "disabled", "works again once the lock is gone");
    await store.close();
  });

  for (const form of ["a path", "a file: URI"] as const) {
    it(`request-path writes wait at most 100 ms for another process's lock, not the busy timeout (${form})`, async () => {
      const path = tmp.file(`quick-${form === "a path" ? "path" : "uri"}.db`);
      const store = await openSqliteStore(form === "a path" ? path : `file:${path}?mode=rwc`, { busyTimeoutMs: 5000 });
      const use = { id: `use_${form.length}`, time: Date.now(), credentialId: "cred_1", tokenId: null, model: "gpt-4o-mini", promptTokens: 5, completionTokens: 7, costUsd: 0.001, estimated: false };
      const lock = holdWriteLock(path);
      const t0 = performance.now();
      try {
        if (form === "a path") {
          // Usage goes to this process's journal, which nobody else locks: acknowledged at once,
          // counted in the tables once the lock is gone (a read meanwhile gives up on its fold after 100 ms).
          await store.usage.record([use]);
          assert.ok(performance.now() - t0 < 100, `journaled in ${Math.round(performance.now() - t0)} ms`);
          assert.deepEqual(await store.usage.query({}), [], "not in the tables while the lock is held");
        } else {
          await assert.rejects(store.usage.record([use]), storeError(/locked by another process: record usage waited 100 ms/));
        }
        assert.ok(performance.now() - t0 < 2000, `gave up after ${Math.round(performance.now() - t0)} ms, not the 5 s busy timeout`);
      } finally {
        lock.release();
      }
      await store.usage.record([use]);
      await store.usage.record([use]); // a replay is counted once
      assert.deepEqual((await store.usage.query({})).map((r) => [r.requests, r.promptTokens, r.completionTokens]), [[1, 5, 7]]);
      await store.close();
    });
  }

  it("an admin write waits for another connection's lock without holding the event loop, then lands", async () => {
    const path = tmp.file("patient.db");
    const store = await openSqliteStore(path, { busyTimeoutMs: 5000 });
    const r = record(fakeKey(7));
    await store.credentials.insertMany([insertItem(r)]);
    const lock = holdWriteLock(path);
    // Released by a timer: only runs if the update's wait leaves the event loop free.
    setTimeout(() => lock.release(), 400);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const t0 = performance.now();
    try {
      assert.equal((await store.credentials.update(r.id, { state: "disabled" }))?.state, "disabled");
    } finally {
      clearInterval(ticker);
      lock.release();
    }
    const waited = performance.now() - t0;
    assert.ok(waited >= 350 && waited < 3000, `waited ${Math.round(waited)} ms: until the lock was gone, not the 5 s busy timeout`);
    assert.ok(ticks >= 10, `the event loop ran meanwhile (${ticks} ticks of 10 ms)`);
    assert.equal((await store.credentials.get(r.id))?.state, "disabled");
    await store.close();
  });

  it("a pollMs that is not a positive number", async () => {
    await assert.rejects(openSqliteStore(":memory:", { pollMs: 0 }), storeError(/pollMs/));
  });
});
