/**
 * Upstream faults, at the gateway (real HTTP, the official SDK as client,
 * short upstream timeouts): keys that hang, connections reset before and in
 * the middle of a stream, a storm of 5xx on every key, every key rate
 * limited at once, every key dying during a run. Each call ends within the
 * deadline with an answer (failover) or a clear error, never a hang, and the
 * keys end in the states their faults call for. Then a `keypool serve`
 * process whose every key hangs answers 504 at its configured deadline.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import type OpenAI from "openai";
import type { PoolOptions } from "../../src/pool/options.ts";
import type { CredentialState } from "../../src/pool/types.ts";
import { startSimulator } from "../../src/sim/index.ts";
import { createLogger } from "../../src/util/logger.ts";
import { ADMIN, harness, type Harness } from "../gateway/helpers.ts";
import { LogCapture } from "../helpers/log-capture.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { Figures } from "./lib/figures.ts";
import { captureOutput, kill, proofKey, sdk, serve, sleep, waitUntil, type Gw } from "./lib/gateway.ts";
import { LeakScan } from "./lib/leaks.ts";
import { Load, type CallRecord } from "./lib/load.ts";

const DEADLINE = 3000;
/** The gateway's own time on top of the deadline (a last attempt's timeout, the SDK, a loaded machine). */
const MARGIN = 1500;

const POOL: PoolOptions = {
  strategy: "round-robin",
  deadlineMs: DEADLINE,
  maxWaitMs: 2000,
  timeouts: { connectMs: 500, headersMs: 400, bodyMs: 400 },
  policy: { baseEjectionMs: 800, ambiguousWindowMs: 20_000 },
};

const ask = (c: OpenAI, i: number): Promise<number> => c.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `question ${i}` }] }).then((r) => r.usage!.total_tokens);

async function askStream(c: OpenAI, i: number): Promise<number> {
  const s = await c.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `stream ${i}` }], stream: true, stream_options: { include_usage: true } });
  let total = 0;
  for await (const chunk of s) if (chunk.usage) total = chunk.usage.total_tokens;
  return total;
}

/** `total` calls, `concurrency` at a time, each recorded. */
async function calls(load: Load, group: string, total: number, concurrency: number, fn: (i: number) => Promise<number>): Promise<CallRecord[]> {
  const out: CallRecord[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        out.push(await load.call(group, () => fn(i)));
      }
    }),
  );
  return out;
}

const slowest = (records: readonly CallRecord[]): number => Math.max(0, ...records.map((c) => c.ended! - c.started));

describe("upstream faults at the gateway", () => {
  const fig = new Figures("upstream-faults", 4, "Upstream faults (hangs, resets, 5xx storm, rate limits, keys dying)");
  const leaks = new LeakScan();
  const load = new Load();
  const open: Harness[] = [];
  const log = new LogCapture();
  const gateways: Gw[] = [];
  const dir = tempDir("keypool-proof-upstream-");
  leaks.secret("admin token", ADMIN);

  after(async () => {
    for (const h of open) await h.close().catch(() => {});
    await Promise.all(gateways.map((g) => kill(g)));
    dir.remove();
    leaks.add("gateway logs", log.text());
    leaks.add("client errors", JSON.stringify(load.failed().map((c) => c.error)));
    leaks.check(fig);
    fig.sent(load.calls.length);
    fig.save();
  });

  /** A gateway in front of a pool with short upstream timeouts, its log captured. */
  async function gateway(keys: Record<string, string>): Promise<Harness> {
    leaks.secrets("upstream key", Object.keys(keys));
    const h = await harness(keys, { pool: POOL, logger: createLogger({ level: "info", destination: log.destination }) });
    open.push(h);
    return h;
  }

  const stateOf = (h: Harness, k: string): CredentialState => h.pool.get(k)!.state;
  /**
   * State changes as they happen, by key. A key ejected early in a fast run may have served its
   * cooling and be active again by the end, which is the policy working, not failing: a
   * scenario checks an ejection here, not in the end state.
   */
  const watchMoves = (h: Harness, keys: readonly string[]): { key: string; to: string | null }[] => {
    const moves: { key: string; to: string | null }[] = [];
    const idOf = new Map(keys.map((k) => [h.pool.get(k)!.id, k]));
    h.pool.on("state", (ev: { credentialId: string; to: string | null }) => moves.push({ key: idOf.get(ev.credentialId) ?? ev.credentialId, to: ev.to }));
    return moves;
  };

  it("hangs: calls fail over from keys that never answer, within the deadline; the hanging keys are ejected", async (t) => {
    const hang = [proofKey("hang1"), proofKey("hang2")];
    const ok = [proofKey("hangok1"), proofKey("hangok2"), proofKey("hangok3")];
    const h = await gateway({ ...Object.fromEntries(ok.map((k) => [k, "ok"])), [hang[0]!]: "hang", [hang[1]!]: "hang:after=request" });
    const moves = watchMoves(h, [...hang, ...ok]);
    const c = h.client();
    const done = await calls(load, "hang", 30, 6, (i) => (i % 3 === 0 ? askStream(c, i) : ask(c, i)));
    fig.fault("2 of 5 keys hang");
    assert.deepEqual(done.filter((x) => !x.ok).map((x) => x.error), [], "every call was answered by another key");
    assert.ok(slowest(done) < DEADLINE + MARGIN, `slowest call ${slowest(done).toFixed(0)} ms`);
    for (const k of hang) assert.ok(moves.some((m) => m.key === k && m.to === "cooling"), `a hanging key is ejected after repeated timeouts: ${JSON.stringify(moves)}`);
    for (const k of ok) {
      assert.equal(stateOf(h, k), "active");
      assert.deepEqual(moves.filter((m) => m.key === k), [], "a good key never left active");
    }
    fig.timing("hangs: slowest call (failover)", slowest(done));
    t.diagnostic(`30 calls, none failed, slowest ${slowest(done).toFixed(0)} ms; hanging keys: ${hang.map((k) => stateOf(h, k)).join(", ")}`);
  });

  it("resets: before the answer they fail over; a JSON answer cut mid-way is asked of another key; a stream cut mid-way drops the client's connection at once", async (t) => {
    const early = proofKey("resetearly");
    const mid = proofKey("resetmid");
    const ok = [proofKey("resetok1"), proofKey("resetok2")];
    const h = await gateway({ ...Object.fromEntries(ok.map((k) => [k, "ok"])), [early]: "reset", [mid]: "reset:after=chunks:2" });
    const moves = watchMoves(h, [early, mid, ...ok]);
    const c = h.client();
    const midBefore = h.sim.stats(mid).requests;
    const done = await calls(load, "reset", 32, 4, (i) => (i % 2 === 0 ? askStream(c, i) : ask(c, i)));
    const cut = done.filter((x) => !x.ok);
    const onMid = h.sim.stats(mid).requests - midBefore;
    fig.fault("resets before and mid-stream");
    t.diagnostic(`${cut.length} calls cut mid-answer (of ${onMid} that reached the key resetting mid-stream), slowest ${slowest(done).toFixed(0)} ms`);
    for (const x of cut) {
      // A stream's headers are out: its connection drops. A JSON answer is collected before it is sent: another key
      // answers it, or (none able to) a clear 502.
      const e = x.error!;
      assert.ok(e.status === 0 || (e.status === 502 && e.code === "KP_UPSTREAM"), `cut mid-answer: a connection error or a 502 for the client (${JSON.stringify(e)})`);
    }
    assert.ok(cut.length <= onMid, "only calls answered by the key that resets mid-stream are cut");
    assert.ok(slowest(done) < DEADLINE + MARGIN);
    assert.ok(moves.some((m) => m.key === early && m.to === "cooling"), `a key whose connections reset is ejected: ${JSON.stringify(moves)}`);
    for (const k of ok) {
      assert.equal(stateOf(h, k), "active");
      assert.deepEqual(moves.filter((m) => m.key === k), [], "a good key never left active");
    }
    fig.errors(cut.length, "streams cut mid-answer by a reset (JSON answers cut mid-way went to another key)");
      });

  it("5xx storm on every key: a clear upstream error fast, at most half the pool ejected, all back when it ends", async (t) => {
    const keys = [0, 1, 2, 3].map((i) => proofKey(`storm${i}`));
    const h = await gateway(Object.fromEntries(keys.map((k) => [k, "ok"])));
    const c = h.client();
    for (const k of keys) h.sim.setKey(k, "flaky:rate=1,status=500|502|503");
    const storm = await calls(load, "storm", 24, 4, (i) => ask(c, i));
    fig.fault("5xx storm on every key");
    const statuses = new Set(storm.map((x) => x.error?.status));
    assert.ok(storm.every((x) => x.ok === false && [500, 502, 503].includes(x.error!.status)), `the upstream's own 5xx passed back: ${[...statuses].join(", ")}`);
    assert.ok(slowest(storm) < DEADLINE + MARGIN);
    const out = keys.filter((k) => stateOf(h, k) !== "active");
    assert.ok(out.length <= keys.length / 2, `an upstream outage is not taken for dead keys: ${out.length} of ${keys.length} out`);
    for (const k of keys) assert.ok(["active", "cooling"].includes(stateOf(h, k)));
    for (const k of keys) h.sim.setKey(k, "ok");
    const calm = await calls(load, "storm", 12, 4, (i) => ask(c, i));
    assert.deepEqual(calm.filter((x) => !x.ok).map((x) => x.error), [], "served again as soon as the storm ends");
    const back = await waitUntil("every key active again", () => keys.every((k) => stateOf(h, k) === "active"), 5000);
    fig.errors(storm.length, "upstream 5xx passed back during the storm");
        fig.timing("storm over → every key back", back);
    t.diagnostic(`storm: 24 calls answered ${[...statuses].join("/")} within ${slowest(storm).toFixed(0)} ms, ${out.length} of 4 keys ejected; back to active ${back.toFixed(0)} ms after`);
  });

  it("every key rate limited at once: calls wait for the first key back, or get 429 with retry-after", async (t) => {
    const keys = [0, 1, 2].map((i) => proofKey(`limited${i}`));
    const h = await gateway(Object.fromEntries(keys.map((k) => [k, "rate-limited:rpm=2,window_ms=1500"])));
    const c = h.client();
    const done = await calls(load, "limited", 12, 6, (i) => ask(c, i));
    fig.fault("every key rate limited at once");
    const refused = done.filter((x) => !x.ok);
    for (const x of refused) assert.ok(x.error!.status === 429 && ["KP_ALL_COOLING", "rate_limit_exceeded"].includes(x.error!.code ?? ""), `a clear 429: ${JSON.stringify(x.error)}`);
    assert.ok(done.filter((x) => x.ok).length > 6, "some calls were served after waiting for a key to come back");
    assert.ok(slowest(done) < DEADLINE + MARGIN);
    const back = await waitUntil("every key active after its window", () => keys.every((k) => stateOf(h, k) === "active"), 5000);
    fig.errors(refused.length, "429 with retry-after (every key cooling past the wait)");
    fig.timing("rate limits: slowest call (waits included)", slowest(done));
    t.diagnostic(`${done.length - refused.length} served (some after waiting), ${refused.length} refused with 429; slowest ${slowest(done).toFixed(0)} ms; keys active again ${back.toFixed(0)} ms later`);
  });

  it("every key dying during a run: failover while one lives, then a clear 503; each key ends retired or quarantined", async (t) => {
    // In the order they die; the reseller's bare 401s are ambiguous: they quarantine the key once they repeat.
    const fates = { "reseller-401": "quarantined", quota: "quarantined", deactivated: "retired", invalid: "retired" } as const;
    const names = Object.keys(fates) as (keyof typeof fates)[];
    const keys = names.map((f) => proofKey(`dying${f}`));
    const h = await gateway(Object.fromEntries(keys.map((k) => [k, "ok"])));
    const c = h.client();
    let lastDied = Number.POSITIVE_INFINITY;
    /** When the last usable key was made to die. */
    let lastKeyDying = Number.POSITIVE_INFINITY;
    const killer = (async () => {
      await sleep(150);
      for (const [i, f] of names.entries()) {
        h.sim.setKey(keys[i]!, f);
        if (i === names.length - 1) lastKeyDying = performance.now();
        await sleep(200);
      }
      lastDied = performance.now();
    })();
    // Calls until a little after the last key died (at most 150).
    const done: CallRecord[] = [];
    await Promise.all(
      [0, 1, 2].map(async (w) => {
        for (let i = 0; done.length < 150 && performance.now() < lastDied + 150; i++) {
          done.push(await load.call("dying", () => ask(c, w * 1000 + i)));
          await sleep(20);
        }
      }),
    );
    await killer;
    fig.fault("every key dying during a run");
    const clear = (e: CallRecord["error"]): boolean => e !== null && e.status >= 400 && e.status < 600 && ["KP_NO_USABLE_CREDENTIAL", "insufficient_quota", "invalid_api_key", "account_deactivated", null].includes(e.code);
    const failed = done.filter((x) => !x.ok);
    for (const x of failed) assert.ok(clear(x.error), `a clear error: ${JSON.stringify(x.error)}`);
    assert.ok(slowest(done) < DEADLINE + MARGIN);
    // A call that failed before the last key began to die failed while a usable key remained. (One that
    // started earlier but was still failing over when it died, on a loaded machine, is no such case.)
    const early = failed.filter((x) => x.ended! < lastKeyDying);
    assert.deepEqual(early.map((x) => x.error), [], "no call failed while a usable key remained");
    // Once every key is dead: clear errors, ending with keypool's own 503.
    const dead: CallRecord[] = [];
    for (let i = 0; i < 10; i++) {
      const x = await load.call("dying", () => ask(c, 1000 + i));
      dead.push(x);
      assert.ok(!x.ok && clear(x.error), `a clear error: ${JSON.stringify(x.error)}`);
      if (x.error!.code === "KP_NO_USABLE_CREDENTIAL") break;
    }
    assert.equal(dead.at(-1)!.error!.code, "KP_NO_USABLE_CREDENTIAL");
    assert.equal(dead.at(-1)!.error!.status, 503);
    for (const [i, f] of names.entries()) assert.equal(stateOf(h, keys[i]!), fates[f], `${f}`);
    fig.errors(failed.length + dead.length, "clear 401/429/503 once every key was dead");
        t.diagnostic(`${done.length - failed.length} calls served while keys died, ${failed.length + dead.length} clear errors after; states: ${keys.map((k) => stateOf(h, k)).join(", ")}`);
  });

  it("a keypool serve process whose every key hangs answers 504 at its configured deadline", async (t) => {
    const hung = [proofKey("servehang1"), proofKey("servehang2")];
    const sim = await startSimulator({ keys: Object.fromEntries(hung.map((k) => [k, "hang"])) });
    leaks.secrets("upstream key", hung);
    try {
      const config = dir.file("gateway.json");
      writeFileSync(config, JSON.stringify({ deadlineMs: 1500 }));
      const gw = await serve("gateway on hanging keys", ["--store", "memory", "--health-interval", "0", "--config", config], { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: hung.join(",") });
      gateways.push(gw);
      const c = sdk(gw, "none", 10_000);
      const done = await calls(load, "serve-hang", 4, 2, (i) => (i % 2 === 0 ? ask(c, i) : askStream(c, i)));
      fig.fault("a serve process whose keys all hang");
      for (const x of done) {
        assert.equal(x.ok, false);
        assert.equal(x.error!.status, 504, JSON.stringify(x.error));
        assert.equal(x.error!.code, "KP_DEADLINE");
        assert.ok(x.ended! - x.started < 1500 + MARGIN, `answered after ${(x.ended! - x.started).toFixed(0)} ms`);
      }
      await kill(gw, "SIGTERM");
      captureOutput(leaks, gw);
      fig.errors(done.length, "504 at the deadline");
      fig.timing("all keys hanging: 504 after (deadline 1.5 s)", slowest(done));
      t.diagnostic(`504 KP_DEADLINE after ${done.map((x) => (x.ended! - x.started).toFixed(0)).join(", ")} ms`);
    } finally {
      await sim.close();
    }
  });
});
