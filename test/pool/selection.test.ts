import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isUsable } from "../../src/pool/eligibility.ts";
import { CandidateIndex } from "../../src/pool/selection/candidate-index.ts";
import { holdUntil } from "../../src/pool/selection/key-entry.ts";
import { STRATEGIES, type StrategyName } from "../../src/pool/selection/strategies.ts";
import { CREDENTIAL_STATES, type CredentialRecord } from "../../src/pool/types.ts";
import { fakeKey, record } from "../helpers/records.ts";

/** A seeded generator, so distributions are reproducible. */
function mulberry(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeIndex(strategy: StrategyName, clock = { now: 1_000_000 }): { index: CandidateIndex; clock: { now: number } } {
  let turn = 0;
  const index = new CandidateIndex({ strategy, deps: { rng: mulberry(42), nextTurn: () => turn++, now: () => clock.now } });
  return { index, clock };
}

const keys = (n: number, over: (i: number) => Partial<CredentialRecord> = () => ({})): CredentialRecord[] =>
  Array.from({ length: n }, (_, i) => ({ ...record(fakeKey(i)), ...over(i) }));

function counts(index: CandidateIndex, picks: number, model: string | null = null): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const e = index.pick(model, null)!;
    index.started(e, model);
    index.finished(e);
    out.set(e.id, (out.get(e.id) ?? 0) + 1);
  }
  return out;
}

describe("strategies", () => {
  it("random spreads evenly", () => {
    const { index } = makeIndex("random");
    keys(4).forEach((r) => index.upsert(r));
    for (const n of counts(index, 20_000).values()) assert.ok(Math.abs(n - 5000) < 400, `got ${n}`);
  });

  it("round-robin takes keys in turn", () => {
    const { index } = makeIndex("round-robin");
    keys(5).forEach((r) => index.upsert(r));
    const c = counts(index, 1000);
    assert.deepEqual([...c.values()], [200, 200, 200, 200, 200]);
  });

  it("weighted follows the weights, and a weight change", () => {
    const { index } = makeIndex("weighted");
    const rs = keys(4, (i) => ({ weight: i + 1 }));
    rs.forEach((r) => index.upsert(r));
    const c = counts(index, 40_000);
    rs.forEach((r, i) => {
      const share = c.get(r.id)! / 40_000;
      assert.ok(Math.abs(share - (i + 1) / 10) < 0.015, `key ${i}: ${share}`);
    });
    index.upsert({ ...rs[0]!, weight: 0 });
    const after = counts(index, 5000);
    assert.equal(after.get(rs[0]!.id), undefined, "weight 0 is never chosen");
  });

  it("least-busy sends to the key with the fewest requests in flight, and takes turns on ties", () => {
    const { index } = makeIndex("least-busy");
    const rs = keys(3);
    rs.forEach((r) => index.upsert(r));
    const a = index.pick(null, null)!;
    index.started(a, null);
    const b = index.pick(null, null)!;
    index.started(b, null);
    const c = index.pick(null, null)!;
    assert.equal(new Set([a.id, b.id, c.id]).size, 3, "three in flight land on three keys");
    index.started(c, null);
    index.finished(b);
    assert.equal(index.pick(null, null)!.id, b.id, "the key that freed up is next");
    index.finished(a);
    index.finished(c);
    assert.equal(counts(index, 300).size, 3);
  });

  it("headroom prefers the key with the most left and holds one that has nothing left until its reset", () => {
    const { index, clock } = makeIndex("headroom");
    const [a, b] = keys(2).map((r) => index.upsert(r));
    const info = (remaining: number) => ({ limitRequests: 10, remainingRequests: remaining, resetRequestsMs: 5000, limitTokens: null, remainingTokens: null, resetTokensMs: null });
    const seen = (e: typeof a, remaining: number) => {
      e!.headroom.set("m", { info: info(remaining), at: clock.now, inFlightAt: 0 });
      index.refresh(e!);
    };
    seen(a, 2);
    seen(b, 8);
    assert.equal(index.pick("m", null)!.id, b!.id, "8 left beats 2 left");
    seen(b, 1);
    const first = index.pick("m", null)!;
    assert.equal(first.id, a!.id, "2 left beats 1 left");
    index.started(first, "m"); // a: 2 left, 1 in flight
    const second = index.pick("m", null)!;
    assert.equal(second.id, b!.id, "a has 1 left after its request in flight, b has 1: the key picked longest ago wins the tie");
    index.started(second, "m"); // b: nothing left → held
    assert.ok(holdUntil(b!, "m") > clock.now, "a key with nothing left is held before it hits its limit");
    const third = index.pick("m", null)!;
    assert.equal(third.id, a!.id);
    index.started(third, "m"); // a: nothing left → held
    assert.equal(index.pick("m", null), undefined, "both exhausted: none until the reset");
    assert.deepEqual(index.explain("m"), { reason: "cooling", until: clock.now + 5000 });
    clock.now += 5001;
    assert.ok(index.pick("m", null) !== undefined, "the reset brings them back");
    assert.ok(index.pick("other", null) !== undefined, "other models were never held");
  });

  for (const strategy of STRATEGIES) {
    it(`${strategy}: never picks a key the request excluded`, () => {
      const { index } = makeIndex(strategy);
      const rs = keys(6);
      rs.forEach((r) => index.upsert(r));
      const exclude = new Set(rs.slice(0, 5).map((r) => r.id));
      for (let i = 0; i < 200; i++) assert.equal(index.pick(null, exclude)?.id, rs[5]!.id);
      assert.equal(index.pick(null, new Set(rs.map((r) => r.id))), undefined);
    });
  }
});

describe("candidate index", () => {
  it("keeps non-serving states, allow-lists and model cooldowns out", () => {
    const { index, clock } = makeIndex("round-robin");
    const [active, retired, quarantined, disabled, gpt4only, coolingKeyWide, coolingModel] = [
      { state: "active" },
      { state: "retired" },
      { state: "quarantined" },
      { state: "disabled" },
      { models: ["gpt-4o"] },
      { state: "cooling", coolUntil: 1_000_000 + 5000 },
      { state: "cooling", modelCooldowns: { "gpt-4o-mini": 1_000_000 + 5000 } },
    ].map((over, i) => index.upsert({ ...record(fakeKey(i)), ...(over as Partial<CredentialRecord>) }));
    const ids = (model: string | null) => new Set(counts(index, 60, model).keys());
    assert.deepEqual(ids("gpt-4o-mini"), new Set([active!.id]));
    assert.deepEqual(ids("gpt-4o"), new Set([active!.id, gpt4only!.id, coolingModel!.id]));
    assert.deepEqual(ids("other-model"), new Set([active!.id, coolingModel!.id]));
    assert.deepEqual(ids(null), new Set([active!.id, gpt4only!.id, coolingModel!.id]));
    clock.now += 5001;
    assert.deepEqual(ids("gpt-4o-mini"), new Set([active!.id, coolingKeyWide!.id, coolingModel!.id]), "cooldowns end by time");
    void retired;
    void quarantined;
    void disabled;
  });

  it("respects a cap on requests in flight", () => {
    const { index } = makeIndex("random");
    const [e] = keys(1, () => ({ maxInFlight: 2 })).map((r) => index.upsert(r));
    index.started(index.pick(null, null)!, null);
    index.started(index.pick(null, null)!, null);
    assert.equal(index.pick(null, null), undefined);
    assert.deepEqual(index.explain(null), { reason: "busy" });
    index.finished(e!);
    assert.equal(index.pick(null, null)?.id, e!.id);
  });

  it("explains why nothing can be picked", () => {
    const { index, clock } = makeIndex("random");
    assert.deepEqual(index.explain(null), { reason: "empty" });
    index.upsert({ ...record(fakeKey(1)), models: ["a"] });
    assert.deepEqual(index.explain("b"), { reason: "model_not_served", model: "b" });
    index.upsert({ ...record(fakeKey(2)), state: "cooling", coolUntil: clock.now + 100 });
    index.upsert({ ...record(fakeKey(3)), state: "retired" });
    assert.deepEqual(index.explain("a"), { reason: "cooling", until: clock.now + 100 });
    index.upsert({ ...record(fakeKey(2)), state: "quarantined" });
    index.upsert({ ...record(fakeKey(1)), state: "retired", models: ["a"] });
    assert.deepEqual(index.explain("a"), { reason: "unusable", states: { quarantined: 1, retired: 2 } });
  });

  it("never picks an ineligible key, whatever happens (property)", () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant("state" as const), i: fc.nat(9), s: fc.constantFrom(...CREDENTIAL_STATES), until: fc.integer({ min: -1000, max: 5000 }) }),
      fc.record({ t: fc.constant("model" as const), i: fc.nat(9), m: fc.constantFrom("a", "b", "c"), until: fc.integer({ min: -1000, max: 5000 }) }),
      fc.record({ t: fc.constant("allow" as const), i: fc.nat(9), models: fc.option(fc.subarray(["a", "b", "c"]), { nil: null }) }),
      fc.record({ t: fc.constant("cap" as const), i: fc.nat(9), cap: fc.option(fc.integer({ min: 1, max: 2 }), { nil: null }) }),
      fc.record({ t: fc.constant("time" as const), dt: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ t: fc.constant("remove" as const), i: fc.nat(9) }),
      fc.record({ t: fc.constant("pick" as const), m: fc.constantFrom(null, "a", "b", "c", "zzz"), finish: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...STRATEGIES), fc.array(op, { maxLength: 80 }), (strategy, ops) => {
        const { index, clock } = makeIndex(strategy);
        const recs = keys(10);
        recs.forEach((r) => index.upsert(r));
        for (const o of ops) {
          if (o.t === "time") clock.now += o.dt;
          else if (o.t === "remove") index.remove(recs[o.i]!.id);
          else if (o.t === "pick") {
            const e = index.pick(o.m, null);
            if (e === undefined) continue;
            assert.ok(isUsable(e.record, o.m, clock.now), `${strategy} picked ${e.record.state} key for ${o.m}`);
            assert.ok(e.record.maxInFlight === null || e.inFlight < e.record.maxInFlight, "over its in-flight cap");
            index.started(e, o.m);
            if (o.finish) index.finished(e);
          } else {
            const cur = index.entries.get(recs[o.i]!.id)?.record;
            if (cur === undefined) continue;
            const next: CredentialRecord =
              o.t === "state"
                ? { ...cur, state: o.s, coolUntil: o.s === "cooling" ? clock.now + o.until : 0 }
                : o.t === "model"
                  ? { ...cur, modelCooldowns: { ...cur.modelCooldowns, [o.m]: clock.now + o.until } }
                  : o.t === "allow"
                    ? { ...cur, models: o.models }
                    : { ...cur, maxInFlight: o.cap };
            index.upsert(next);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
