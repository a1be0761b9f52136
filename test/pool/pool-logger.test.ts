/** Background failures reach the logger given to createPool instead of vanishing. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { openMemoryStore } from "../../src/store/memory/index.ts";
import { createLogger } from "../../src/util/logger.ts";
import { LogCapture } from "../helpers/log-capture.ts";
import { fakeKey, insertItem, record, waitFor } from "../helpers/records.ts";

it("logs a change feed it could not read", async () => {
  const log = new LogCapture();
  const store = openMemoryStore();
  const pool = await createPool({ store, health: false, logger: createLogger({ destination: log.destination }) });
  try {
    store.credentials.getMany = async () => {
      throw new Error("disk on fire");
    };
    // Another writer adds a key: the pool hears of it and fails to read it back.
    await store.credentials.insertMany([insertItem(record(fakeKey(7)))]);
    await waitFor(() => log.text().includes("disk on fire"));
    const line = log.entries().find((e) => JSON.stringify(e).includes("disk on fire"))!;
    assert.equal(line.level, "warn");
    assert.match(String(line.msg), /background work failed/);
  } finally {
    await pool.close();
    await store.close();
  }
});
