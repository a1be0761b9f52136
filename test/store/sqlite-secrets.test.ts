/** Secrets and credential meta are sealed at rest with KEYPOOL_SECRET_KEY's box. */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { createSecretBox, plainBox } from "../../src/store/secret-box.ts";
import { openSqliteStore } from "../../src/store/sqlite/index.ts";
import { fakeKey, insertItem, record } from "../helpers/records.ts";
import { tempDir } from "./sqlite-temp.ts";

/** The database file and its WAL as they are on disk now. */
function bytesOnDisk(path: string): Buffer {
  return Buffer.concat([path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)));
}

const isStoreError = (pattern: RegExp) => (err: Error) => err.name === "StoreError" && pattern.test(err.message);

describe("sqlite store: secrets at rest", () => {
  const tmp = tempDir();
  after(() => tmp.remove());
  const path = tmp.file("sealed.db");
  const secret = fakeKey(4242);
  const rotated = "web-session-token-rotated-0123456789";
  const r = record(secret, { kind: "web", meta: { cfClearance: "cf-clearance-plain-value", userAgent: "UA/1.0" } });

  it("writes nothing in the clear", async () => {
    const store = await openSqliteStore(path, { secretBox: createSecretBox("k1") });
    await store.credentials.insertMany([insertItem(r)]);
    await store.credentials.update(r.id, { secret: rotated, meta: { ...r.meta, accessToken: "access-token-plain-value" } });
    for (const plain of [secret, rotated, "cf-clearance-plain-value", "access-token-plain-value"]) {
      assert.ok(!bytesOnDisk(path).includes(plain), `${plain} is not on disk (file and WAL, while open)`);
    }
    assert.equal((await store.credentials.get(r.id))?.secret, rotated);
    await store.close();
    for (const plain of [secret, rotated, "cf-clearance-plain-value", "access-token-plain-value"]) {
      assert.ok(!bytesOnDisk(path).includes(plain), `${plain} is not on disk (after close)`);
    }
    // The fingerprint and the id are stored as they are: they are not secrets.
    assert.ok(bytesOnDisk(path).includes(r.fingerprint));
  });

  it("refuses to read without the key, naming KEYPOOL_SECRET_KEY", async () => {
    const store = await openSqliteStore(path, { secretBox: plainBox });
    try {
      await assert.rejects(store.credentials.get(r.id), isStoreError(/KEYPOOL_SECRET_KEY/));
      await assert.rejects(store.credentials.list(), isStoreError(/KEYPOOL_SECRET_KEY/));
    } finally {
      await store.close();
    }
  });

  it("refuses to read with another key", async () => {
    const store = await openSqliteStore(path, { secretBox: createSecretBox("k2") });
    try {
      await assert.rejects(store.credentials.get(r.id), isStoreError(/KEYPOOL_SECRET_KEY differs/));
      await assert.rejects(store.credentials.getMany([r.id]), isStoreError(/KEYPOOL_SECRET_KEY/));
    } finally {
      await store.close();
    }
  });

  it("reads with the key it was written with", async () => {
    const store = await openSqliteStore(path, { secretBox: createSecretBox("k1") });
    try {
      const got = await store.credentials.get(r.id);
      assert.equal(got?.secret, rotated);
      assert.deepEqual(got?.meta, { cfClearance: "cf-clearance-plain-value", userAgent: "UA/1.0", accessToken: "access-token-plain-value" });
      assert.equal((await store.credentials.list()).length, 1);
    } finally {
      await store.close();
    }
  });
});
