/** Background failures reach the logger given to createPool instead of vanishing. */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { openMemoryStore } from "../../src/store/memory/index.ts";
import { createLogger } from "../../src/util/logger.ts";
import { fakeKey, insertItem, record, waitFor } from "../helpers/records.ts";

it("logs a change feed it could not read", async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const store = openMemoryStore();
  const pool = await createPool({ store, health: false, logger: createLogger({ destination }) });
  try {
    store.credentials.getMany = async () => {
      throw new Error("disk on fire");
    };
    // Another writer adds a key: the pool hears of it and fails to read it back.
    await store.credentials.insertMany([insertItem(record(fakeKey(7)))]);
    await waitFor(() => lines.some((l) => l.includes("disk on fire")));
    const line = JSON.parse(lines.find((l) => l.includes("disk on fire"))!) as { level: string; msg: string };
    assert.equal(line.level, "warn");
    assert.match(line.msg, /background work failed/);
  } finally {
    await pool.close();
    await store.close();
  }
});
