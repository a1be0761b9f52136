/** 100,000 keys in bulk: every step grows linearly and the event loop keeps running. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { makeEvent } from "../../src/pool/audit.ts";
import type { AuditEvent } from "../../src/pool/types.ts";
import { openSqliteStore } from "../../src/store/sqlite/index.ts";
import type { InsertItem } from "../../src/store/types.ts";
import { fakeKey, insertItem, record } from "../helpers/records.ts";
import { tempDir, type TempDir } from "./sqlite-temp.ts";

const STEPS = ["insert", "list", "remove"] as const;
type Timings = Record<(typeof STEPS)[number], number> & {
  /** The longest the event loop went without running a 1 ms timer during the steps. */
  stall: number;
};

interface Workload {
  inserts: InsertItem[];
  removals: { id: string; event: AuditEvent }[];
}

function workload(n: number, offset: number): Workload {
  const inserts = Array.from({ length: n }, (_, i) => insertItem(record(fakeKey(offset + i))));
  const removals = inserts.map(({ record: r }) => ({ id: r.id, event: makeEvent(r, { kind: "removed", reason: "bulk" }, "scale") }));
  return { inserts, removals };
}

/** Inserts, lists and removes the workload on a fresh file. */
async function run(path: string, { inserts, removals }: Workload): Promise<Timings> {
  const n = inserts.length;
  const store = await openSqliteStore(path);
  let last = performance.now();
  let stall = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 1);
  try {
    let t = performance.now();
    assert.equal((await store.credentials.insertMany(inserts)).added.length, n);
    const insert = performance.now() - t;

    t = performance.now();
    assert.equal((await store.credentials.list()).length, n);
    const list = performance.now() - t;

    t = performance.now();
    assert.equal((await store.credentials.removeMany(removals)).length, n);
    const remove = performance.now() - t;
    assert.equal((await store.credentials.list()).length, 0);
    return { insert, list, remove, stall };
  } finally {
    clearInterval(ticker);
    await store.close();
  }
}

/** The best of `times` runs per step: other processes on the machine only ever add time. */
async function best(tmp: TempDir, name: string, work: Workload, times = 2): Promise<Timings> {
  const runs: Timings[] = [];
  for (let i = 0; i < times; i++) runs.push(await run(tmp.file(`${name}-${i}.db`), work));
  const min = (step: keyof Timings): number => Math.min(...runs.map((r) => r[step]));
  return { insert: min("insert"), list: min("list"), remove: min("remove"), stall: Math.max(...runs.map((r) => r.stall)) };
}

const ms = (x: number): string => `${x.toFixed(0)} ms`;

describe("sqlite store: scale", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("inserts, lists and removes 100,000 keys in linear time without freezing the loop", async (t) => {
    await run(tmp.file("warmup.db"), workload(2_000, 0)); // JIT and page cache, so the small run isn't all startup
    const small = await best(tmp, "10k", workload(10_000, 1_000_000));
    const large = await best(tmp, "100k", workload(100_000, 2_000_000));
    const total = (x: Timings): number => x.insert + x.list + x.remove;
    for (const step of STEPS) {
      t.diagnostic(`${step}: 10k ${ms(small[step])}, 100k ${ms(large[step])} (×${(large[step] / small[step]).toFixed(1)})`);
    }
    t.diagnostic(`total: 10k ${ms(total(small))}, 100k ${ms(total(large))} (×${(total(large) / total(small)).toFixed(1)})`);
    t.diagnostic(`longest event-loop stall: 10k ${ms(small.stall)}, 100k ${ms(large.stall)}`);
    // 10× the keys: linear is ~10×, a quadratic step would be ~100×. The total gets 20× (slack
    // for a loaded machine); a single step, being shorter and noisier, gets 30×.
    assert.ok(total(large) < 20 * total(small), `the bulk steps grow linearly: ${ms(total(small))} → ${ms(total(large))}`);
    for (const step of STEPS) {
      assert.ok(large[step] < 30 * Math.max(small[step], 5), `${step} grows linearly: ${ms(small[step])} → ${ms(large[step])}`);
    }
    assert.ok(large.stall < 1000, `bulk steps yield to the event loop (longest stall ${ms(large.stall)})`);
  });
});
