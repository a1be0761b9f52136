/** Bulk work grows linearly; probe rounds are bounded and report progress. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createPool } from "../../src/create-pool.ts";
import { echoServer } from "../helpers/echo-server.ts";
import { fakeKey } from "../helpers/records.ts";

setFlagsFromString("--expose-gc");
/** A full collection before each timed step: garbage from the step before is not billed to it. */
const gc = runInNewContext("gc") as () => void;

type Timing = { add: number; list: number; remove: number };
const best = (a: Timing, b: Timing): Timing => ({ add: Math.min(a.add, b.add), list: Math.min(a.list, b.list), remove: Math.min(a.remove, b.remove) });

async function bulk(n: number): Promise<Timing> {
  const pool = await createPool({ health: false });
  try {
    const keys = Array.from({ length: n }, (_, i) => fakeKey(i));
    gc();
    let t = performance.now();
    const { added } = await pool.add(keys);
    const add = performance.now() - t;
    assert.equal(added.length, n);
    let list = Infinity;
    for (let run = 0; run < 3; run++) {
      t = performance.now();
      assert.equal(pool.list().length, n);
      list = Math.min(list, performance.now() - t);
    }
    gc();
    t = performance.now();
    const removed = await pool.remove(added.map((v) => v.id));
    const remove = performance.now() - t;
    assert.equal(removed.length, n);
    assert.equal(pool.list().length, 0);
    return { add, list, remove };
  } finally {
    await pool.close();
  }
}

describe("scale", () => {
  it("adds, lists and removes 100,000 keys in time linear in their number", async (t) => {
    await bulk(2000); // warm up the JIT
    // Noise (other tests, the GC) only ever adds time: best of two for the short runs, and a
    // second measurement of everything when a ratio looks off. Growth that is really worse than
    // linear fails both.
    const measure = async (): Promise<{ small: Timing; large: Timing }> => ({ small: best(await bulk(10_000), await bulk(10_000)), large: await bulk(100_000) });
    let { small, large } = await measure();
    const worst = (): number => Math.max(...(["add", "list", "remove"] as const).map((k) => large[k] / small[k]));
    if (worst() >= 30) {
      const again = await measure();
      small = best(small, again.small);
      large = best(large, again.large);
    }
    for (const step of ["add", "list", "remove"] as const) {
      const ratio = large[step] / small[step];
      t.diagnostic(`${step}: 10k ${small[step].toFixed(0)} ms, 100k ${large[step].toFixed(0)} ms (×${ratio.toFixed(1)})`);
      // Linear is ×10; quadratic would be ×100.
      assert.ok(ratio < 30, `${step} grew ×${ratio.toFixed(1)} for ×10 keys`);
    }
  });

  it("probes with bounded concurrency and reports progress", async () => {
    const echo = await echoServer(10);
    const pool = await createPool({ upstream: `${echo.url}/v1`, keys: Array.from({ length: 60 }, (_, i) => fakeKey(i)), health: { concurrency: 4 } });
    try {
      const progress: number[] = [];
      const results = await pool.probe({ onProgress: (done, total) => progress.push(done / total) });
      assert.equal(results.length, 60);
      assert.equal(progress.length, 60);
      assert.equal(progress.at(-1), 1);
      assert.ok(echo.maxConcurrent <= 4, `probes in flight: ${echo.maxConcurrent}`);
      assert.ok(results.every((r) => r.after === "active"));
    } finally {
      await pool.close();
      await echo.close();
    }
  });
});
