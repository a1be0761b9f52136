/** Schema versions: a fresh file gets the latest, reopening is idempotent, a newer file is refused. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { DatabaseSync } from "node:sqlite";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import { MIGRATIONS } from "../../src/store/sqlite/migrations.ts";
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from "../../src/store/sqlite/index.ts";
import { fakeKey, insertItem, record } from "../helpers/records.ts";
import { tempDir } from "./sqlite-temp.ts";

function pragma(path: string, name: string): unknown {
  const db = new DatabaseSync(path);
  try {
    return db.prepare(`PRAGMA ${name}`).get()?.[name];
  } finally {
    db.close();
  }
}

describe("sqlite store: schema migrations", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("numbers its steps 1, 2, ... in order", () => {
    assert.deepEqual(MIGRATIONS.map((m) => m.version), MIGRATIONS.map((_, i) => i + 1));
    assert.equal(SQLITE_SCHEMA_VERSION, MIGRATIONS.length);
  });

  it("gives a fresh file the latest version, in WAL mode", async () => {
    const path = tmp.file("fresh.db");
    const store = await openSqliteStore(path);
    await store.close();
    assert.equal(pragma(path, "user_version"), SQLITE_SCHEMA_VERSION);
    assert.equal(pragma(path, "journal_mode"), "wal");
  });

  it("opens the same file again (and concurrently) without migrating twice or losing data", async () => {
    const path = tmp.file("twice.db");
    const [a, b] = await Promise.all([openSqliteStore(path), openSqliteStore(path)]);
    const r = record(fakeKey(1));
    await a.credentials.insertMany([insertItem(r)]);
    await Promise.all([a.close(), b.close()]);
    const c = await openSqliteStore(path);
    try {
      assert.equal((await c.credentials.get(r.id))?.id, r.id);
      assert.equal(pragma(path, "user_version"), SQLITE_SCHEMA_VERSION);
    } finally {
      await c.close();
    }
  });

  it("lets several processes open a fresh file at once", async () => {
    const path = tmp.file("race.db");
    const storeModule = new URL("../../src/store/sqlite/index.ts", import.meta.url).href;
    const script = `
      const { openSqliteStore } = await import(${JSON.stringify(storeModule)});
      const store = await openSqliteStore(process.argv[1]);
      await store.meta.set("opened-by-" + process.pid, "yes");
      await store.close();`;
    const run = promisify(execFile);
    await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ["--input-type=module", "-e", script, path])));
    const store = await openSqliteStore(path);
    try {
      const db = new DatabaseSync(path);
      const opened = db.prepare("SELECT count(*) AS n FROM meta WHERE key LIKE 'opened-by-%'").get()?.n;
      db.close();
      assert.equal(opened, 4);
      assert.equal(pragma(path, "user_version"), SQLITE_SCHEMA_VERSION);
    } finally {
      await store.close();
    }
  });

  it("brings an older file up step by step, keeping its data", async () => {
    const path = tmp.file("old.db");
    const db = new DatabaseSync(path);
    db.exec(MIGRATIONS[0]!.sql);
    db.exec("PRAGMA user_version = 1");
    db.prepare("INSERT INTO meta (key, value) VALUES ('written-at', 'v1')").run();
    db.close();
    const store = await openSqliteStore(path);
    try {
      assert.equal(pragma(path, "user_version"), SQLITE_SCHEMA_VERSION);
      assert.equal(await store.meta.get("written-at"), "v1");
      await store.conversations.setCurrent("client", "c1"); // a table of a later step
      assert.equal(await store.conversations.current("client"), "c1");
    } finally {
      await store.close();
    }
  });

  it("refuses a file written by a newer keypool", async () => {
    const path = tmp.file("newer.db");
    await (await openSqliteStore(path)).close();
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(openSqliteStore(path), (err: Error) => {
      assert.equal(err.name, "StoreError");
      assert.match(err.message, new RegExp(`schema version ${SQLITE_SCHEMA_VERSION + 1}, newer than this keypool knows \\(${SQLITE_SCHEMA_VERSION}\\)`));
      assert.match(err.message, /upgrade keypool/);
      return true;
    });
    assert.equal(pragma(path, "user_version"), SQLITE_SCHEMA_VERSION + 1, "the file is left as it was");
  });
});
