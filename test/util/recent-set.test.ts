/** RecentSet: the last N strings, the oldest evicted first, in O(1) per add. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RecentSet } from "../../src/util/recent-set.ts";

describe("RecentSet", () => {
  it("keeps the last `capacity` values and evicts the oldest first", () => {
    const s = new RecentSet(3);
    for (const v of ["a", "b", "c"]) s.add(v);
    assert.deepEqual([s.size, s.has("a"), s.has("c")], [3, true, true]);
    s.add("d");
    assert.deepEqual([s.size, s.has("a"), s.has("b"), s.has("d")], [3, false, true, true], "a, the oldest, left");
    s.add("e");
    s.add("f");
    assert.deepEqual(["b", "c", "d", "e", "f"].map((v) => s.has(v)), [false, false, true, true, true]);
  });

  it("counts a value added again once, without evicting anything", () => {
    const s = new RecentSet(2);
    s.add("a");
    s.add("b");
    s.add("a");
    assert.deepEqual([s.size, s.has("a"), s.has("b")], [2, true, true]);
    s.add("c");
    assert.deepEqual([s.has("a"), s.has("b"), s.has("c")], [false, true, true], "a's first add is still the oldest");
  });

  it("refuses a capacity that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new RecentSet(bad), /RecentSet capacity must be a positive integer/);
  });

  it("holds exactly the last 10,000 of 50,000 values", () => {
    const s = new RecentSet(10_000);
    for (let i = 0; i < 50_000; i++) s.add(`use_${i}`);
    assert.equal(s.size, 10_000);
    assert.equal(s.has("use_39999"), false);
    assert.equal(s.has("use_40000"), true);
  });
});
