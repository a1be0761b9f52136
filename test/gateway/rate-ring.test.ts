/** RateRing: one instance's requests of a token in the last minute, with the other instances' as shared. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateRing } from "../../src/gateway/auth/rate-ring.ts";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const sec = (ms: number): number => Math.floor(ms / 1000);

describe("RateRing", () => {
  it("takes up to the limit in a minute, then says how long until the oldest request leaves the window", () => {
    const ring = new RateRing();
    assert.equal(ring.take(2, T0), 0);
    assert.equal(ring.take(2, T0 + 10_000), 0);
    assert.equal(ring.take(2, T0 + 20_000), 40);
    assert.equal(ring.take(2, T0 + 60_000), 0, "the first left the window");
    assert.equal(ring.count(T0 + 60_000), 2);
  });

  it("hands out its window as [second, count] pairs that another ring adds up", () => {
    const ring = new RateRing();
    ring.take(10, T0);
    ring.take(10, T0 + 500);
    ring.take(10, T0 + 5_000);
    assert.deepEqual(ring.window(T0 + 5_000), [sec(T0), 2, sec(T0) + 5, 1]);
    const others = new RateRing();
    others.add(ring.window(T0 + 5_000), T0 + 6_000);
    others.add([sec(T0) + 6, 4, sec(T0) - 61, 100, sec(T0) + 99, 100], T0 + 6_000); // a minute-old second and a future one are left out
    assert.equal(others.count(T0 + 6_000), 7);
    assert.equal(others.count(T0 + 60_500), 5, "the first second's requests left the window");
  });

  it("refuses once its own requests and the other instances' reach the limit", () => {
    const others = new RateRing();
    others.add([sec(T0), 3], T0);
    const ring = new RateRing();
    assert.equal(ring.take(5, T0 + 1_000, others), 0);
    assert.equal(ring.take(5, T0 + 2_000, others), 0);
    assert.equal(ring.take(5, T0 + 3_000, others), 60 - 3, "until the others' oldest second leaves");
    assert.equal(ring.take(5, T0 + 60_000, others), 0, "the others' requests aged out");
  });
});
