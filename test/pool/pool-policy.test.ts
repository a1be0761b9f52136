/** The pool's rules seen from a client: models, known limits, waiting, removal, budgets, events, strategies. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { credentialId } from "../../src/pool/credential-record.ts";
import type { AuditEvent } from "../../src/pool/types.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { ask, load, simKey, simPool } from "../helpers/sim-pool.ts";
import { openStore } from "../../src/store/open-store.ts";
import { sleep, waitFor } from "../helpers/records.ts";

describe("pool policy through the SDK", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({});
  });
  after(async () => {
    await sim.close();
  });

  it("never sends a model to a key whose allow-list lacks it", async () => {
    const only4o = simKey("allow4o");
    const any = simKey("allowany");
    const sp = await simPool({ [only4o]: "ok", [any]: "ok" }, { strategy: "round-robin" }, sim);
    try {
      await sp.pool.update(only4o, { models: ["gpt-4o"] });
      for (let i = 0; i < 10; i++) await ask(sp.client, "x", "gpt-4o-mini");
      assert.equal(sim.stats(only4o).requests, 0);
      for (let i = 0; i < 10; i++) await ask(sp.client, "x", "gpt-4o");
      assert.ok(sim.stats(only4o).requests > 0, "it still serves its own model");
      await sp.pool.update(any, { models: ["gpt-4o"] });
      await assert.rejects(ask(sp.client, "x", "gpt-4o-mini"), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === "KP_MODEL_NOT_SERVED");
    } finally {
      await sp.close();
    }
  });

  it("learns from model_not_found which models a key lacks", async () => {
    const lacks = simKey("lacksmini");
    const has = simKey("hasmini");
    // The upstream serves only gpt-4o on this key; the pool doesn't know yet.
    const sp = await simPool({ [lacks]: "ok:models=gpt-4o", [has]: "ok" }, { strategy: "round-robin" }, sim);
    try {
      const errors = await load(10, 1, () => ask(sp.client, "x", "gpt-4o-mini"));
      assert.deepEqual(errors, []);
      assert.equal(sim.stats(lacks).statuses["404"], 1, "one miss, then never again");
      assert.deepEqual(sp.pool.get(lacks)!.missingModels, ["gpt-4o-mini"]);
      assert.equal(sp.pool.get(lacks)!.state, "active", "the key still serves other models");
      await ask(sp.client, "x", "gpt-4o");
    } finally {
      await sp.close();
    }
  });

  it("passes a model nobody has back to the caller after two misses", async () => {
    const sp = await simPool({ [simKey("nomodel", 1)]: "ok:models=gpt-4o", [simKey("nomodel", 2)]: "ok:models=gpt-4o", [simKey("nomodel", 3)]: "ok:models=gpt-4o" }, {}, sim);
    try {
      await assert.rejects(ask(sp.client, "x", "gpt-nonexistent"), (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 && e.code === "model_not_found");
    } finally {
      await sp.close();
    }
  });

  it("stays under a rate limit the user declared for a key", async () => {
    const limited = simKey("declaredrpm");
    const other = simKey("declaredother");
    const sp = await simPool({ [limited]: "ok", [other]: "ok" }, { strategy: "round-robin" }, sim);
    try {
      await sp.pool.update(limited, { rpm: 2 });
      await load(12, 1, () => ask(sp.client));
      assert.equal(sim.stats(limited).requests, 2, "two per minute, the rest went elsewhere");
    } finally {
      await sp.close();
    }
  });

  it("stays under a token-per-minute limit the user declared", async () => {
    const limited = simKey("declaredtpm");
    const other = simKey("declaredtpmother");
    const sp = await simPool({ [limited]: "ok", [other]: "ok" }, { strategy: "round-robin" }, sim);
    try {
      const first = await ask(sp.client, "count my tokens");
      const perCall = first.usage!.total_tokens;
      await sp.pool.update(limited, { tpm: perCall * 2 });
      const tokensBefore = sim.stats(limited).total_tokens;
      await load(12, 1, () => ask(sp.client, "count my tokens"));
      const spent = sim.stats(limited).total_tokens - tokensBefore;
      assert.ok(spent <= perCall * 2, `spent ${spent} tokens against a limit of ${perCall * 2} per minute`);
      assert.ok(spent > 0, "the key still served within its limit");
    } finally {
      await sp.close();
    }
  });

  it("passes a request too large for a key's TPM back to the caller without cooling the key", async () => {
    const key = simKey("toolarge");
    const sp = await simPool({ [key]: "rate-limited:tpm=20,rpm=1000" }, {}, sim);
    try {
      await assert.rejects(ask(sp.client, "this question is far longer than twenty tokens, ".repeat(10)), (e: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(e.status, 429);
        assert.match(e.message, /Request too large/);
        return true;
      });
      assert.equal(sp.pool.get(key)!.state, "active", "the caller's oversized request cools nothing");
      assert.equal((await sp.pool.events({ credentialId: credentialId(key), kind: "state" })).length, 0);
    } finally {
      await sp.close();
    }
  });

  it("shares round-robin turns between two pools on one store", async () => {
    const keys = Object.fromEntries(Array.from({ length: 4 }, (_, n) => [simKey("sharedrr", n), "ok"]));
    const store = await openStore("memory");
    const a = await simPool(keys, { store, strategy: "round-robin" }, sim);
    const b = await simPool({}, { store, strategy: "round-robin" }, sim);
    try {
      await waitFor(() => b.pool.list().length === 4);
      await sleep(20); // let each pool reserve its first block of turns
      await load(400, 1, (n) => ask(n % 2 === 0 ? a.client : b.client));
      const counts = Object.keys(keys).map((k) => sim.stats(k).requests);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 8, `two pools together spread evenly: ${counts.join(", ")}`);
    } finally {
      await a.close();
      await b.close();
      await store.close();
    }
  });

  it("waits for a cooling key within the bound, and says when it comes back beyond it", async () => {
    const only = simKey("waitrl");
    const sp = await simPool({ [only]: "rate-limited:rpm=1,window_ms=800" }, { maxWaitMs: 3000 }, sim);
    try {
      await ask(sp.client);
      const t0 = performance.now();
      await ask(sp.client);
      assert.ok(performance.now() - t0 >= 300, "the second request waited for the key");
    } finally {
      await sp.close();
    }
    const slowKey = simKey("waitlong");
    const sp2 = await simPool({ [slowKey]: "rate-limited:rpm=1,window_ms=60000" }, { maxWaitMs: 200 }, sim);
    try {
      await ask(sp2.client);
      await assert.rejects(ask(sp2.client), (e: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(e.status, 429);
        assert.equal(e.code, "KP_ALL_COOLING");
        assert.match(e.message, /comes back at/);
        assert.ok(Number(e.headers?.get("retry-after")) > 0);
        return true;
      });
    } finally {
      await sp2.close();
    }
  });

  it("deletes invalid keys under onInvalid: remove, keeping the audit", async () => {
    const bad = simKey("removeinvalid");
    const sp = await simPool({ [bad]: "invalid", [simKey("removeok")]: "ok" }, { onInvalid: "remove", strategy: "round-robin" }, sim);
    try {
      await load(4, 1, () => ask(sp.client));
      assert.equal(sp.pool.get(bad), null);
      assert.equal(await sp.pool.store.credentials.get(credentialId(bad)), null);
      const [ev] = await sp.pool.events({ credentialId: credentialId(bad), kind: "removed" });
      assert.equal(ev?.reason, "invalid_api_key");
      assert.equal(ev?.evidence?.status, 401);
    } finally {
      await sp.close();
    }
  });

  it("recognises duplicates, lists keys masked, and emits events", async () => {
    const sp = await simPool({}, {}, sim);
    const seen: AuditEvent[] = [];
    sp.pool.on("event", (e) => seen.push(e));
    try {
      const key = simKey("dupkey");
      const first = await sp.pool.add([key, key, simKey("dupother")]);
      assert.equal(first.added.length, 2);
      assert.equal(first.duplicates.length, 1);
      const again = await sp.pool.add({ secret: key, label: "again" });
      assert.equal(again.added.length, 0);
      assert.deepEqual(again.duplicates.map((d) => d.id), [credentialId(key)]);
      const listed = sp.pool.list();
      assert.equal(listed.length, 2);
      for (const v of listed) {
        assert.ok(!JSON.stringify(v).includes(key), "no listing carries the whole key");
        assert.match(v.key, /^sk-…[0-9a-z]{4}$|^sk-[a-z]+-…[0-9]{4}$/);
      }
      assert.equal(seen.filter((e) => e.kind === "added").length, 2);
      await assert.rejects(sp.pool.add("short"), /too short/);
      await sp.pool.disable(key);
      assert.equal(seen.at(-1)?.to, "disabled");
    } finally {
      await sp.close();
    }
  });

  it("quarantines a key whose metered spend reached its budget", async () => {
    const key = simKey("budget");
    const sp = await simPool({ [key]: "ok", [simKey("budgetother")]: "ok" }, { prices: { "gpt-4o-mini": { input: 1000, output: 1000 } }, strategy: "round-robin" }, sim);
    try {
      await sp.pool.update(key, { budgetUsd: 0.01 });
      await load(6, 1, () => ask(sp.client, "spend some tokens please"));
      const v = sp.pool.get(key)!;
      assert.equal(v.state, "quarantined");
      assert.match(v.reason ?? "", /budget spent/);
      assert.ok(v.spentUsd >= 0.01);
    } finally {
      await sp.close();
    }
  });

  it("splits traffic by weight", async () => {
    const heavy = simKey("weightheavy");
    const light = simKey("weightlight");
    const sp = await simPool({ [heavy]: "ok", [light]: "ok" }, { strategy: "weighted" }, sim);
    try {
      await sp.pool.update(heavy, { weight: 3 });
      await load(400, 8, () => ask(sp.client));
      const share = sim.stats(heavy).requests / 400;
      assert.ok(share > 0.68 && share < 0.82, `heavy share ${share}`);
    } finally {
      await sp.close();
    }
  });

  it("headroom avoids the 429s that random selection runs into", async (t) => {
    const run = async (strategy: "random" | "headroom", tag: string) => {
      const keys = Object.fromEntries(Array.from({ length: 4 }, (_, n) => [simKey(`hr${tag}`, n), "rate-limited:rpm=5,window_ms=2000"]));
      const sp = await simPool(keys, { strategy, maxWaitMs: 5000 }, sim);
      try {
        const errors = await load(40, 4, () => ask(sp.client));
        const limited = Object.keys(keys).reduce((sum, k) => sum + (sim.stats(k).statuses["429"] ?? 0), 0);
        return { errors: errors.length, limited };
      } finally {
        await sp.close();
      }
    };
    const random = await run("random", "r");
    const headroom = await run("headroom", "h");
    t.diagnostic(`429s from the upstream: random ${random.limited}, headroom ${headroom.limited}`);
    assert.equal(headroom.errors, 0);
    assert.ok(random.limited > 0, "the scenario does push keys to their limits");
    assert.ok(headroom.limited < random.limited / 2, `headroom ${headroom.limited} vs random ${random.limited}`);
  });
});
