import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { makeEvent } from "../../src/pool/audit.ts";
import { openSqliteStore } from "../../src/store/sqlite/index.ts";
import type { Change, Store } from "../../src/store/types.ts";
import { fakeKey, insertItem, record, waitFor } from "../helpers/records.ts";
import { storeConformance } from "./conformance.ts";
import { tempDir } from "./sqlite-temp.ts";

storeConformance(
  "sqlite",
  async () => {
    const tmp = tempDir();
    const path = tmp.file("nested/dir/keypool.db"); // parent directories are created
    const store = await openSqliteStore(path, { instance: "conformance" });
    const others: Store[] = [];
    return {
      store,
      reopen: async () => {
        const other = await openSqliteStore(path, { instance: "conformance-2" });
        others.push(other);
        return other;
      },
      cleanup: async () => {
        for (const o of others) await o.close();
        await store.close();
        tmp.remove();
      },
    };
  },
  { shared: true },
);

storeConformance(
  "sqlite :memory:",
  async () => {
    const store = await openSqliteStore(":memory:");
    return { store, cleanup: () => store.close() };
  },
  { shared: false },
);

describe("sqlite store: lifecycle and change feed", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("rejects every call after close with a StoreError", async () => {
    const store = await openSqliteStore(tmp.file("closed.db"));
    await store.ping();
    await store.close();
    await store.close(); // twice is fine
    const calls: [string, () => Promise<unknown>][] = [
      ["list", () => store.credentials.list()],
      ["get", () => store.credentials.get("x")],
      ["insertMany", () => store.credentials.insertMany([insertItem(record(fakeKey(1)))])],
      ["update", () => store.credentials.update("x", { state: "active" })],
      ["events", () => store.events.query()],
      ["usage", () => store.usage.query()],
      ["lease", () => store.leases.acquire("l", "o", 10)],
      ["release", () => store.leases.release("l", "o")],
      ["counter", () => store.counters.incr("c", 1)],
      ["meta", () => store.meta.get("k")],
      ["ping", () => store.ping()],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(call(), (err: Error) => err.name === "StoreError" && /closed/.test(err.message), name);
    }
  });

  it("delivers another connection's changes in commit order and stops polling when unsubscribed", async () => {
    const path = tmp.file("feed.db");
    const a = await openSqliteStore(path, { pollMs: 10 });
    const b = await openSqliteStore(path, { pollMs: 10 });
    try {
      const seen: Change[] = [];
      const off = b.changes.subscribe((c) => seen.push(c));
      const rs = [1, 2, 3].map((i) => record(fakeKey(9000 + i)));
      for (const r of rs) await a.credentials.insertMany([insertItem(r)]);
      await a.credentials.update(rs[0]!.id, { state: "disabled" });
      await a.credentials.removeMany([{ id: rs[1]!.id, event: makeEvent(rs[1]!, { kind: "removed", reason: "x" }, "t") }]);
      await waitFor(() => seen.length >= 5);
      assert.deepEqual(seen, [
        { type: "upsert", ids: [rs[0]!.id] },
        { type: "upsert", ids: [rs[1]!.id] },
        { type: "upsert", ids: [rs[2]!.id] },
        { type: "upsert", ids: [rs[0]!.id] },
        { type: "remove", ids: [rs[1]!.id] },
      ]);
      off();
      await a.credentials.update(rs[2]!.id, { state: "disabled" });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(seen.length, 5, "no delivery after unsubscribe");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("says resync when change rows it had not read were pruned", async () => {
    const path = tmp.file("resync.db");
    const a = await openSqliteStore(path, { pollMs: 10 });
    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(path, { timeout: 5000 });
    try {
      const seen: Change[] = [];
      const off = a.changes.subscribe((c) => seen.push(c));
      // What pruning does to a store that fell behind: rows after its cursor are gone.
      raw.exec("BEGIN IMMEDIATE");
      raw.prepare("INSERT INTO changes (time, type, ids, instance) VALUES (0, 'upsert', '[\"key_lost\"]', 'raw')").run();
      raw.prepare("INSERT INTO changes (time, type, ids, instance) VALUES (?, 'upsert', '[\"key_kept\"]', 'raw')").run(Date.now());
      raw.prepare("DELETE FROM changes WHERE time = 0").run();
      raw.exec("COMMIT");
      await waitFor(() => seen.length >= 2);
      assert.deepEqual(seen, [{ type: "resync", ids: [] }, { type: "upsert", ids: ["key_kept"] }]);
      off();
    } finally {
      raw.close();
      await a.close();
    }
  });
});
