/**
 * Every simulator behaviour ends in the right state with the right evidence,
 * and a mixed pool serves its callers without errors — on each store.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import type { CredentialState } from "../../src/pool/types.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import { ask, load, simKey, simPool } from "../helpers/sim-pool.ts";
import { STORE_KINDS, testStore, type TestStore } from "../helpers/stores.ts";

interface Case {
  behaviour: string;
  state: CredentialState;
  /** Evidence the audit event must carry (status, code). */
  evidence?: { status?: number; code?: string };
  /** Requests to send (alternating with an ok key under round-robin). */
  requests?: number;
}

const CASES: Case[] = [
  { behaviour: "ok", state: "active" },
  { behaviour: "slow:ms=20", state: "active" },
  { behaviour: "billing-unsupported", state: "active" },
  { behaviour: "invalid", state: "retired", evidence: { status: 401, code: "invalid_api_key" } },
  { behaviour: "deactivated", state: "retired", evidence: { status: 401, code: "account_deactivated" } },
  { behaviour: "quota", state: "quarantined", evidence: { status: 429, code: "insufficient_quota" } },
  { behaviour: "legacy-quota", state: "quarantined", evidence: { status: 429 } },
  { behaviour: "expired", state: "quarantined", evidence: { status: 429, code: "insufficient_quota" } },
  { behaviour: "exhausts:requests=3", state: "quarantined", evidence: { status: 429, code: "insufficient_quota" }, requests: 12 },
  { behaviour: "rate-limited:rpm=2", state: "cooling", evidence: { status: 429, code: "rate_limit_exceeded" }, requests: 10 },
  { behaviour: "flaky:rate=1,status=500", state: "cooling", evidence: { status: 500 }, requests: 14 },
  { behaviour: "reset", state: "cooling", requests: 14 },
  { behaviour: "hang", state: "cooling", requests: 14 },
  { behaviour: "reseller-401", state: "quarantined", evidence: { status: 401 }, requests: 14 },
];

/** A fresh store of this kind for one pool (a store is one pool: pools sharing it share keys). */
async function withStore<T>(kind: (typeof STORE_KINDS)[number], fn: (ts: TestStore) => Promise<T>): Promise<T> {
  const ts = await testStore(kind, 3, "behaviours");
  try {
    return await fn(ts);
  } finally {
    await ts.cleanup();
  }
}

for (const [i, kind] of STORE_KINDS.entries()) {
  describe(`pool on the ${kind} store`, () => {
    let sim: Simulator;
    before(async () => {
      sim = await startSimulator({});
    });
    after(async () => {
      await sim.close();
    });

    it("ends each behaviour in the right state with its evidence, and the caller never sees the key's fault", async () => {
      await Promise.all(
        CASES.map((c, n) => withStore(kind, async (ts) => {
          const key = simKey(c.behaviour, n);
          const good = simKey("good", n);
          const store = await ts.open();
          const sp = await simPool({ [key]: c.behaviour, [good]: "ok" }, { store, strategy: "round-robin", timeouts: { headersMs: 800 }, maxRetries: 5 }, sim);
          try {
            const errors = await load(c.requests ?? 6, 1, () => ask(sp.client, `case ${c.behaviour}`));
            assert.deepEqual(errors, [], `${c.behaviour}: the caller saw errors`);
            const id = credentialId(key);
            const view = sp.pool.get(id)!;
            assert.equal(view.state, c.state, `${c.behaviour} ended ${view.state} (${view.reason})`);
            assert.equal(sp.pool.get(credentialId(good))!.state, "active", `${c.behaviour}: the healthy key stayed active`);
            if (c.state !== "active") {
              const [ev] = await sp.pool.events({ credentialId: id, kind: "state" });
              assert.ok(ev, `${c.behaviour}: a state event was written`);
              assert.equal(ev.to, c.state);
              if (c.evidence?.status !== undefined) assert.equal(ev.evidence?.status, c.evidence.status, `${c.behaviour} evidence status`);
              if (c.evidence?.code !== undefined) assert.equal(ev.evidence?.code, c.evidence.code, `${c.behaviour} evidence code`);
            } else {
              assert.equal((await sp.pool.events({ credentialId: id, kind: "state" })).length, 0, `${c.behaviour}: no state change`);
            }
          } finally {
            await sp.pool.close();
            await store.close();
          }
        })),
      );
    });

    it("serves 1,000 SDK calls from a mixed pool with no errors, retiring only the dead keys", () => withStore(kind, async (ts) => {
      const keys: Record<string, string> = {
        [simKey("mixok", i)]: "ok",
        [simKey("mixinvalid", i)]: "invalid",
        [simKey("mixdeact", i)]: "deactivated",
        [simKey("mixquota", i)]: "quota",
        [simKey("mixrl", i)]: "rate-limited",
        [simKey("mixflaky", i)]: "flaky",
        [simKey("mixslow", i)]: "slow:ms=5",
        [simKey("mixreset", i)]: "reset",
      };
      const store = await ts.open();
      const sp = await simPool(keys, { store, strategy: "random" }, sim);
      try {
        const errors = await load(1000, 16, (n) => ask(sp.client, `mixed ${n % 50}`));
        assert.equal(errors.length, 0, `caller saw ${errors.length} errors, first: ${String(errors[0])}`);
        const state = (name: string) => sp.pool.get(credentialId(simKey(name, i)))!.state;
        assert.equal(state("mixinvalid"), "retired");
        assert.equal(state("mixdeact"), "retired");
        assert.equal(state("mixquota"), "quarantined");
        for (const healthy of ["mixok", "mixflaky", "mixslow"]) assert.notEqual(state(healthy), "retired", `${healthy} must never be retired`);
        const retiredEvents = (await sp.pool.events({ kind: "state", limit: 1000 })).filter((e) => e.to === "retired").map((e) => e.credentialId);
        assert.deepEqual(new Set(retiredEvents), new Set([credentialId(simKey("mixinvalid", i)), credentialId(simKey("mixdeact", i))]));
        // Retired on the first definitive answer: at most one in-flight request per worker reached them.
        assert.ok(sim.stats(simKey("mixinvalid", i)).requests <= 16, `invalid key saw ${sim.stats(simKey("mixinvalid", i)).requests} requests`);
        const seenBefore = { inv: sim.stats(simKey("mixinvalid", i)).requests, deact: sim.stats(simKey("mixdeact", i)).requests, quota: sim.stats(simKey("mixquota", i)).requests };
        const more = await load(200, 8, (n) => ask(sp.client, `more ${n}`));
        assert.equal(more.length, 0);
        assert.equal(sim.stats(simKey("mixinvalid", i)).requests, seenBefore.inv, "a retired key gets no further traffic");
        assert.equal(sim.stats(simKey("mixdeact", i)).requests, seenBefore.deact, "a retired key gets no further traffic");
        assert.equal(sim.stats(simKey("mixquota", i)).requests, seenBefore.quota, "a quarantined key gets no further traffic");
      } finally {
        await sp.pool.close();
        await store.close();
      }
    }));

    it("brings a topped-up key back through the health checker, and never quarantines for unsupported billing", () => withStore(kind, async (ts) => {
      const quota = simKey("hcquota", i);
      const unsupported = simKey("hcnobilling", i);
      const store = await ts.open();
      const sp = await simPool({ [quota]: "quota", [unsupported]: "billing-unsupported", [simKey("hcok", i)]: "ok" }, { store }, sim);
      try {
        await load(10, 2, () => ask(sp.client));
        assert.equal(sp.pool.get(quota)!.state, "quarantined");
        let results = await sp.pool.probe();
        assert.equal(sp.pool.get(quota)!.state, "quarantined", "still out of quota: stays");
        assert.equal(sp.pool.get(unsupported)!.state, "active", "billing unsupported is not a zero balance");
        assert.ok(results.some((r) => r.id === credentialId(unsupported)));
        sim.topUp(quota, 100);
        const progress: number[] = [];
        results = await sp.pool.probe({ onProgress: (done) => progress.push(done) });
        assert.equal(sp.pool.get(quota)!.state, "active", "topped up: back in service");
        assert.deepEqual(progress, results.map((_, n) => n + 1), "progress is reported per probe");
        const [ev] = await sp.pool.events({ credentialId: credentialId(quota), kind: "state" });
        assert.equal(ev?.to, "active");
        assert.match(ev?.reason ?? "", /recovered/);
        await ask(sp.client);
      } finally {
        await sp.pool.close();
        await store.close();
      }
    }));

    it("forgets a learned missing model once the key's /models lists it (a model rolled out to the key later)", () => withStore(kind, async (ts) => {
      const k = simKey("rollout", i);
      const store = await ts.open();
      const sp = await simPool({ [k]: "ok:models=gpt-4o-mini" }, { store }, sim);
      try {
        await assert.rejects(ask(sp.client, "hi", "gpt-4o"), (err: { status?: number }) => err.status === 404);
        assert.deepEqual(sp.pool.get(k)!.missingModels, ["gpt-4o"], "learned");
        await sp.pool.probe();
        assert.deepEqual(sp.pool.get(k)!.missingModels, ["gpt-4o"], "not listed: still missing");
        sim.setKey(k, "ok:models=gpt-4o-mini|gpt-4o");
        await sp.pool.probe();
        assert.deepEqual(sp.pool.get(k)!.missingModels, [], "listed now: forgotten");
        const [ev] = await sp.pool.events({ credentialId: credentialId(k), kind: "updated" });
        assert.match(ev?.reason ?? "", /serves gpt-4o again/);
        const r = await ask(sp.client, "hi", "gpt-4o");
        assert.equal(r.model.startsWith("gpt-4o"), true, "the key serves it");
      } finally {
        await sp.pool.close();
        await store.close();
      }
    }));

    it("keeps a key out of quota quarantined where /models answers it and billing is not served, until a trial completion succeeds", () => withStore(kind, async (ts) => {
      const quota = simKey("hcnoquota", i);
      const store = await ts.open();
      const sp = await simPool({ [quota]: "quota:billing=session-key", [simKey("hcok2", i)]: "ok" }, { store }, sim);
      try {
        await load(10, 2, () => ask(sp.client));
        assert.equal(sp.pool.get(quota)!.state, "quarantined");
        for (let round = 0; round < 2; round++) {
          const results = await sp.pool.probe();
          assert.match(results.find((r) => r.id === credentialId(quota))?.finding ?? "", /completion quota/, "the finding names the trial");
          assert.equal(sp.pool.get(quota)!.state, "quarantined", `health round ${round + 1}: /models answers, but the quota is still gone`);
        }
        sim.topUp(quota, 100);
        await sp.pool.probe();
        assert.equal(sp.pool.get(quota)!.state, "active", "topped up: a completion succeeds, back in service");
        const [ev] = await sp.pool.events({ credentialId: credentialId(quota), kind: "state" });
        assert.equal(ev?.reason, "recovered: a completion succeeded");
        assert.equal(ev?.evidence?.probe, "completion");
      } finally {
        await sp.pool.close();
        await store.close();
      }
    }));
  });
}
