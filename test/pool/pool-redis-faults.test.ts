/**
 * Redis goes away under load: pools keep serving from what they hold, queue
 * the writes they can't make, and reconcile when it is back — no retired key
 * comes back to life, no usage is counted twice.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentialId } from "../../src/pool/credential-record.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { timeOrderedId } from "../../src/util/ids.ts";
import { sleep, waitFor } from "../helpers/records.ts";
import { ask, simKey, simPool, type SimPool } from "../helpers/sim-pool.ts";
import { freePort, OwnRedis } from "../store/redis-server.ts";

describe("Redis outage under load", () => {
  let sim: Simulator;
  let redis: OwnRedis;
  before(async () => {
    sim = await startSimulator({});
    redis = new OwnRedis(await freePort(), { persist: true });
    await redis.start();
  });
  after(async () => {
    await sim.close();
    await redis.dispose();
  });

  it("serves through the outage, queues writes, and reconciles without resurrection or double counting", async (t) => {
    const keys = Object.fromEntries(Array.from({ length: 4 }, (_, n) => [simKey("outage", n), "ok"]));
    const doomed = simKey("outage", 0);
    const opts = { store: redis.url, redisPrefix: "kpfault:", strategy: "round-robin" as const };
    const a: SimPool = await simPool(keys, opts, sim);
    const b: SimPool = await simPool({}, opts, sim);
    await waitFor(() => b.pool.list().length === 4);
    const recorded = new Set<string>();
    let errors = 0;
    let served = 0;
    let stop = false;
    const worker = async (sp: SimPool) => {
      while (!stop) {
        try {
          const r = await ask(sp.client, "outage");
          served++;
          const id = timeOrderedId("use");
          recorded.add(id);
          await sp.pool.recordUsage([{ id, time: Date.now(), credentialId: "key_outage", tokenId: null, model: "gpt-4o-mini", promptTokens: r.usage?.prompt_tokens ?? 0, completionTokens: r.usage?.completion_tokens ?? 0, costUsd: 0, estimated: false }]);
        } catch {
          errors++;
        }
      }
    };
    const workers = [worker(a), worker(a), worker(b), worker(b)];
    try {
      await sleep(200);
      await redis.kill();
      const servedBefore = served;
      sim.setKey(doomed, "invalid"); // a key dies while the store is away
      await sleep(800);
      const duringOutage = served - servedBefore;
      assert.ok(duringOutage > 20, `served ${duringOutage} during the outage`);
      assert.equal(a.pool.get(doomed)!.state, "retired", "the dead key is out locally at once");
      const backlog = a.pool.backlog;
      assert.ok(backlog.stateWrites + b.pool.backlog.stateWrites >= 1, "the retirement waits in an outbox");
      assert.ok(backlog.usageRecords + b.pool.backlog.usageRecords > 0, "usage waits in its buffer");
      const outageAt = performance.now();
      await redis.start();
      const reconciled = await waitFor(async () => {
        const stored = await a.pool.store.credentials.get(credentialId(doomed)).catch(() => null);
        return stored?.state === "retired" && b.pool.get(doomed)?.state === "retired" && a.pool.backlog.usageRecords === 0 && b.pool.backlog.usageRecords === 0;
      }, 10_000, 20);
      stop = true;
      await Promise.all(workers);
      t.diagnostic(`served ${served} (${duringOutage} during a 0.8 s outage), client errors ${errors}, queued at the worst ${backlog.stateWrites} state writes and ${backlog.usageRecords} usage records, reconciled ${reconciled.toFixed(0)} ms after Redis was back (${(performance.now() - outageAt).toFixed(0)} ms)`);
      assert.equal(errors, 0, "no client saw an error");
      const retirements = (await a.pool.events({ credentialId: credentialId(doomed), kind: "state", limit: 50 })).filter((e) => e.to === "retired");
      assert.equal(retirements.length, 1, "retired once, by whichever pool's write landed first");
      const [total] = await a.pool.usage({ credentialId: "key_outage" });
      assert.equal(total?.requests, recorded.size, "every usage record counted exactly once");
      for (const k of Object.keys(keys).slice(1)) assert.equal(a.pool.get(k)!.state, "active");
    } finally {
      stop = true;
      await Promise.allSettled(workers);
      await a.close();
      await b.close();
    }
  });
});
