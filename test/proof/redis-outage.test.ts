/**
 * Redis faults: two `keypool serve` processes on a Redis of the test's own,
 * under load, lose it for a while and get it back. They keep serving from
 * what they hold (selection needs no Redis), queue the writes they can't make
 * (the figures show the backlog from /admin/stats and /metrics), and
 * reconcile when it is back: no retired key comes back to life, and the usage
 * stored equals what the clients were answered, counted once.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { ImportReport } from "../../src/gateway/keys-import.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import type { AuditEvent, CredentialView } from "../../src/pool/types.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { Store, UsageRow } from "../../src/store/types.ts";
import { freePort, OwnRedis } from "../store/redis-server.ts";
import { testPrefix } from "../store/redis-harness.ts";
import { Figures } from "./lib/figures.ts";
import { adminFetch, adminJson, adminToken, captureOutput, kill, proofKey, sdk, serve, sleep, waitUntil, within, type Gw } from "./lib/gateway.ts";
import { LeakScan } from "./lib/leaks.ts";
import { Load } from "./lib/load.ts";

interface Stats {
  backlog: { stateWrites: number; usageRecords: number; dropped: number };
}

describe("Redis faults: gateways on a Redis that goes away under load", () => {
  const fig = new Figures("redis-outage", 2, "Redis outage under load (2 gateways)");
  const leaks = new LeakScan();
  const ADMIN = adminToken();
  const prefix = testPrefix("proof-outage");
  let sim: Simulator | undefined;
  let redis: OwnRedis | undefined;
  const gateways: Gw[] = [];
  const load = new Load(20_000);
  let store: Store | undefined;
  after(async () => {
    load.stop();
    await Promise.all(gateways.map((g) => kill(g)));
    await store?.close();
    await sim?.close();
    await redis?.dispose();
    fig.save();
  });

  it("keeps serving, queues its writes, reconciles: no retired key back to life, no usage counted twice", async (t) => {
    const ok = [0, 1, 2, 3].map((i) => proofKey(`outageok${i}`));
    const deadBefore = proofKey("outagedeadbefore");
    const disabledBefore = proofKey("outagedisabledbefore");
    const doomed = proofKey("outagedoomed");
    const offDuring = proofKey("outageoffduring");
    const all = [...ok, deadBefore, disabledBefore, doomed, offDuring];
    sim = await startSimulator({ keys: { ...Object.fromEntries(all.map((k) => [k, "ok"])), [deadBefore]: "invalid" } });
    leaks.secrets("upstream key", all);
    leaks.secret("admin token", ADMIN);
    redis = new OwnRedis(await freePort(), { persist: true });
    await redis.start();
    const args = ["--store", redis.url, "--health-interval", "0", "--strategy", "round-robin"];
    const env = { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_ADMIN_TOKEN: ADMIN, KEYPOOL_REDIS_PREFIX: prefix };
    const [a, b] = await Promise.all([serve("gateway A", args, env), serve("gateway B", args, env)]);
    gateways.push(a!, b!);
    const gwA = a!;
    const gwB = b!;
    let adminCalls = 0;
    const admin = <T>(gw: Gw, path: string, init: RequestInit = {}): Promise<T> => {
      adminCalls++;
      return adminJson<T>(gw, ADMIN, path, init);
    };
    const stateOn = async (gw: Gw, k: string): Promise<string> => (await admin<CredentialView>(gw, `/admin/keys/${credentialId(k)}`)).state;

    const report = await admin<ImportReport>(gwA, "/admin/keys", { method: "POST", body: JSON.stringify({ keys: all }) });
    assert.equal(report.added, all.length);
    await admin(gwA, `/admin/keys/${credentialId(disabledBefore)}/disable`, { method: "POST", body: "{}" });
    const tokens: { id: string; token: string; gw: Gw }[] = [];
    for (const gw of [gwA, gwB]) {
      const created = await admin<{ id: string; token: string }>(gwA, "/admin/tokens", { method: "POST", body: JSON.stringify({ name: `via ${gw.name}` }) });
      tokens.push({ ...created, gw });
      leaks.secret(`client token for ${gw.name}`, created.token);
    }
    await waitUntil("gateway B to see every key", async () => (await admin<{ total: number }>(gwB, "/admin/keys")).total === all.length);

    for (const tk of tokens) {
      const client = sdk(tk.gw, tk.token);
      for (let w = 0; w < 2; w++) load.worker(tk.id, async (i) => (await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `${tk.gw.name} ${w} ${i}` }] })).usage!.total_tokens);
    }
    await waitUntil("the dead key retired on both gateways", async () => (await stateOn(gwA, deadBefore)) === "retired" && (await stateOn(gwB, deadBefore)) === "retired");
    await sleep(300);

    // The outage.
    const answeredBefore = load.answered().length;
    await redis.kill();
    const outageAt = performance.now();
    fig.fault("Redis killed under load, then restarted");
    await sleep(200);
    sim.setKey(doomed, "invalid");
    fig.fault("a key revoked upstream during it");
    const off = await adminFetch(gwA, ADMIN, `/admin/keys/${credentialId(offDuring)}/disable`, { method: "POST", body: JSON.stringify({ note: "disabled during the outage" }) });
    adminCalls++;
    assert.equal(off.status, 200, await off.clone().text());
    fig.fault("a key disabled through the admin API during it");
    await sleep(700);
    const peak = { a: (await admin<Stats>(gwA, "/admin/stats")).backlog, b: (await admin<Stats>(gwB, "/admin/stats")).backlog };
    const metricsDuring = await (await fetch(`${gwA.url}/metrics`)).text();
    leaks.add("metrics during the outage", metricsDuring);
    const backlogMetric = (kind: string): number => Number(new RegExp(`keypool_store_backlog\\{kind="${kind}"\\} (\\d+)`).exec(metricsDuring)?.[1] ?? Number.NaN);
    const healthDuring = await fetch(`${gwA.url}/healthz`);
    leaks.add("healthz during the outage", await healthDuring.text());
    assert.equal(healthDuring.status, 503, "healthz says the store is away");
    assert.equal(await stateOn(gwA, doomed), "retired", "A took the dead key out at once");
    assert.equal(await stateOn(gwB, doomed), "retired", "so did B, on its own");
    t.diagnostic(`backlog during the outage: A ${JSON.stringify(peak.a)}, B ${JSON.stringify(peak.b)}; A's /metrics: state ${backlogMetric("state")}, usage ${backlogMetric("usage")}`);
    assert.ok(peak.a.stateWrites >= 2, "A queued its state writes (the revoked key, the disabled one)");
    assert.ok(peak.a.usageRecords + peak.b.usageRecords > 0, "usage records queued");
    assert.ok(backlogMetric("state") >= 1 && backlogMetric("dropped") === 0, "/metrics shows the backlog, nothing dropped");
    await sleep(300);
    const answeredDuring = load.answered().length - answeredBefore;
    const outageMs = performance.now() - outageAt;
    await redis.start();
    const backAt = performance.now();

    store = await openStore(redis.url, { redisPrefix: prefix });
    const reconcileMs = await waitUntil(
      "reconciliation",
      async () => {
        const [sa, sb] = await Promise.all([admin<Stats>(gwA, "/admin/stats"), admin<Stats>(gwB, "/admin/stats")]);
        if (sa.backlog.stateWrites + sa.backlog.usageRecords + sb.backlog.stateWrites + sb.backlog.usageRecords > 0) return false;
        const [d, o] = await Promise.all([store!.credentials.get(credentialId(doomed)), store!.credentials.get(credentialId(offDuring))]);
        return d?.state === "retired" && o?.state === "disabled" && (await stateOn(gwB, offDuring)) === "disabled";
      },
      15_000,
      20,
    );
    t.diagnostic(`outage ${outageMs.toFixed(0)} ms, ${answeredDuring} calls answered during it; reconciled ${reconcileMs.toFixed(0)} ms after Redis was back`);

    // A frozen Redis (SIGSTOP: connections open, no answers): commands time out (2 s) instead of failing at once,
    // so the calls in flight at the freeze wait that long for their usage write, once; then the writes queue.
    await sleep(300);
    const frozenAt = performance.now();
    redis.freeze();
    fig.fault("Redis frozen (SIGSTOP) under load, then thawed");
    await sleep(3000);
    redis.thaw();
    const thawedAt = performance.now();
    const duringFreeze = load.calls.filter((c) => c.started >= frozenAt && c.started < thawedAt);
    const slowestFrozen = Math.max(0, ...duringFreeze.map((c) => (c.ended ?? performance.now()) - c.started));
    await sleep(300);
    load.stop();
    assert.ok(await within(load.done(), 15_000), "every call ended");
    await waitUntil("the last usage written", async () => {
      const [sa, sb] = await Promise.all([admin<Stats>(gwA, "/admin/stats"), admin<Stats>(gwB, "/admin/stats")]);
      return sa.backlog.usageRecords + sb.backlog.usageRecords + sa.backlog.stateWrites + sb.backlog.stateWrites === 0;
    });
    void backAt;

    // Clients: served throughout.
    const failed = load.failed();
    assert.deepEqual(failed.map((c) => c.error), [], "no client saw an error");
    assert.ok(answeredDuring > 20, `served during the outage: ${answeredDuring}`);
    assert.ok(duringFreeze.filter((c) => c.ok).length > 20, `served while Redis was frozen: ${duringFreeze.length}`);
    assert.ok(slowestFrozen < 4000, `the slowest call while frozen waited ${slowestFrozen.toFixed(0)} ms (a store command's timeout is 2 s)`);
    t.diagnostic(`frozen 3 s: ${duringFreeze.length} calls, slowest ${slowestFrozen.toFixed(0)} ms`);

    // No retired key back to life; the revoked key retired once; the switches made on either side hold on both.
    let checked = 0;
    let lost = 0;
    const events = await store.events.query({ limit: 10_000 });
    for (const gw of [gwA, gwB]) {
      assert.equal(await stateOn(gw, deadBefore), "retired");
      assert.equal(await stateOn(gw, doomed), "retired");
      assert.equal(await stateOn(gw, disabledBefore), "disabled");
      assert.equal(await stateOn(gw, offDuring), "disabled");
      for (const k of ok) assert.equal(await stateOn(gw, k), "active");
    }
    assert.deepEqual(events.filter((e: AuditEvent) => e.kind === "state" && e.from === "retired"), [], "no key left retired");
    assert.equal(events.filter((e) => e.credentialId === credentialId(doomed) && e.to === "retired").length, 1, "the revoked key retired once, by whichever gateway's write landed first");
    checked += 4;

    // Usage: the store holds exactly what the clients were answered, per token, counted once.
    const usage = (await admin<{ data: UsageRow[] }>(gwA, "/admin/usage?groupBy=token")).data;
    const storedTokens = (await admin<{ data: { id: string; usedTokens: number }[] }>(gwB, "/admin/tokens")).data;
    for (const tk of tokens) {
      const row = usage.find((r) => r.tokenId === tk.id);
      const answered = load.answered(tk.id).length;
      const answeredTokens = load.tokens(tk.id);
      checked += answered;
      lost += Math.max(0, answered - (row?.requests ?? 0));
      assert.equal(row?.requests, answered, `${tk.gw.name}: usage records stored = calls answered`);
      assert.equal(row.promptTokens + row.completionTokens, answeredTokens, `${tk.gw.name}: tokens stored = tokens answered`);
      const used = storedTokens.find((s) => s.id === tk.id)?.usedTokens;
      assert.equal(used, answeredTokens, `${tk.gw.name}: the client token's own count = tokens answered`);
    }

    const metricsAfter = await (await fetch(`${gwA.url}/metrics`)).text();
    leaks.add("metrics after", metricsAfter);
    leaks.add("client errors", JSON.stringify(failed.map((c) => c.error)));
    await Promise.all(gateways.map((g) => kill(g, "SIGTERM")));
    for (const g of gateways) captureOutput(leaks, g);
    leaks.check(fig);

    fig.sent(load.calls.length + adminCalls);
    fig.errors(failed.length);
    fig.checked(checked, lost);
    fig.timing("outage", outageMs);
    fig.timing("Redis back → reconciled", reconcileMs);
    fig.timing("slowest call while Redis was frozen", slowestFrozen);
    fig.note(`${answeredDuring} calls answered during the outage and ${duringFreeze.length} while Redis was frozen; queued at the worst: A ${peak.a.stateWrites} state writes and ${peak.a.usageRecords} usage records, B ${peak.b.stateWrites} and ${peak.b.usageRecords} (none dropped)`);
    t.diagnostic(fig.data.notes.at(-1)!);
  });
});
