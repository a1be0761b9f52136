/**
 * Many instances: three `keypool serve` processes on one Redis, under load.
 * A key switched off through one instance's admin API gets no traffic from
 * the others once the change has propagated (measured); a key removed after
 * one instance was killed is gone from the survivor too; the health-check
 * lease of the killed instance passes to a live one, which goes on running
 * the rounds (it brings a topped-up key back).
 */
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, describe, it } from "node:test";
import type { ImportReport } from "../../src/gateway/keys-import.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import type { AuditEvent } from "../../src/pool/types.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { deletePrefix, rawClient, redisUrl, requireRedis, testPrefix } from "../store/redis-harness.ts";
import { Figures } from "./lib/figures.ts";
import { adminFetch, adminJson, adminToken, captureOutput, kill, proofKey, sdk, serve, sleep, waitUntil, within, type Gw } from "./lib/gateway.ts";
import { LeakScan } from "./lib/leaks.ts";
import { Load } from "./lib/load.ts";

const HEALTH_MS = 400;

describe("many instances: three gateways on one Redis", () => {
  const fig = new Figures("instances", 3, "Three gateways on one Redis, one killed");
  const leaks = new LeakScan();
  const ADMIN = adminToken();
  const url = redisUrl(12);
  const prefix = testPrefix("proof-instances");
  let sim: Simulator | undefined;
  const gateways: Gw[] = [];
  const loads = new Map<Gw, Load>();
  after(async () => {
    for (const l of loads.values()) l.stop();
    await Promise.all(gateways.map((g) => kill(g)));
    await sim?.close();
    await deletePrefix(url, prefix);
    fig.save();
  });

  it("propagates a switch-off and a removal to the others, and hands the health-check lease to a live instance", async (t) => {
    await requireRedis(url);
    const ok = [0, 1, 2, 3, 4, 5].map((i) => proofKey(`manyok${i}`));
    const [victim, removed] = [ok[0]!, ok[1]!];
    const topped = proofKey("manytopped");
    sim = await startSimulator({ keys: Object.fromEntries([...ok, topped].map((k) => [k, "ok"])) });
    leaks.secrets("upstream key", [...ok, topped]);
    leaks.secret("admin token", ADMIN);
    const args = ["--store", url, "--health-interval", String(HEALTH_MS), "--strategy", "round-robin"];
    const env = { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_ADMIN_TOKEN: ADMIN, KEYPOOL_REDIS_PREFIX: prefix };
    gateways.push(...(await Promise.all(["gateway 1", "gateway 2", "gateway 3"].map((name) => serve(name, args, env)))));
    const [g1] = gateways as [Gw, Gw, Gw];
    let adminCalls = 0;
    const admin = <T>(gw: Gw, path: string, init: RequestInit = {}, okStatus: readonly number[] = [200, 201]): Promise<T> => {
      adminCalls++;
      return adminJson<T>(gw, ADMIN, path, init, okStatus);
    };
    const stateOn = async (gw: Gw, k: string): Promise<string | null> => {
      adminCalls++;
      const res = await adminFetch(gw, ADMIN, `/admin/keys/${credentialId(k)}`);
      const body = (await res.json()) as { state?: string };
      return res.status === 404 ? null : body.state!;
    };
    assert.equal((await admin<ImportReport>(g1, "/admin/keys", { method: "POST", body: JSON.stringify({ keys: [...ok, topped] }) })).added, ok.length + 1);
    const { token } = await admin<{ token: string }>(g1, "/admin/tokens", { method: "POST", body: JSON.stringify({ name: "everywhere" }) });
    leaks.secret("client token", token);
    for (const gw of gateways) await waitUntil(`${gw.name} to hold every key`, async () => (await admin<{ total: number }>(gw, "/admin/keys")).total === ok.length + 1);

    for (const gw of gateways) {
      const load = new Load(10_000);
      loads.set(gw, load);
      const client = sdk(gw, token);
      for (let w = 0; w < 2; w++) load.worker(gw.name, async (i) => (await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `${gw.name} ${w} ${i}` }] })).usage!.total_tokens);
    }
    await waitUntil("traffic on every instance", () => [...loads.values()].every((l) => l.answered().length >= 20));

    // A key switched off through gateway 1: how long until the others hold it off, and no traffic from them after.
    const others = gateways.filter((g) => g !== g1);
    const t0 = performance.now();
    await admin(g1, `/admin/keys/${credentialId(victim)}/disable`, { method: "POST", body: JSON.stringify({ note: "off through gateway 1" }) });
    const ackMs = performance.now() - t0;
    const seen = await Promise.all(others.map((gw) => waitUntil(`${gw.name} to see the switch-off`, async () => (await stateOn(gw, victim)) === "disabled", 5000, 2)));
    const propagation = Math.max(...seen) + ackMs;
    fig.fault("a key switched off through one instance");
    await sleep(100);
    const victimBefore = sim.stats(victim).requests;
    await sleep(1000);
    const victimAfter = sim.stats(victim).requests - victimBefore;
    t.diagnostic(`switch-off through gateway 1 held by the other two ${seen.map((s) => (s + ackMs).toFixed(0)).join(" and ")} ms after the request (admin API polled every 2 ms); requests to the key in the next second: ${victimAfter}`);
    assert.equal(victimAfter, 0, "no instance sends to the key once the change propagated");
    assert.ok(propagation < 1000, `propagated in ${propagation.toFixed(0)} ms`);

    // The health-check lease holder is killed mid-load.
    const redis = rawClient(url);
    await redis.connect();
    const leaseKey = `${prefix}lease:health-check`;
    const instanceOf = (gw: Gw): string => `${hostname()}:${gw.pid}`;
    let holder: Gw | undefined;
    const leaseOwner = (): Promise<string | null> => redis.get(leaseKey);
    await waitUntil(
      "a lease holder",
      async () => {
        const owner = await leaseOwner();
        holder = gateways.find((g) => instanceOf(g) === owner);
        return holder !== undefined;
      },
      5000,
    );
    const dead = holder!;
    const live = gateways.filter((g) => g !== dead);
    const deadLoad = loads.get(dead)!;
    deadLoad.stop();
    const inflight = deadLoad.inflight;
    const killAt = performance.now();
    await kill(dead);
    fig.fault("SIGKILL of the health-check lease holder, mid-load");
    assert.ok(await within(deadLoad.done(), 5000), "the killed instance's clients are not left hanging");
    const cutMs = Math.max(0, ...inflight.map((c) => c.ended! - killAt));
    let newHolder: Gw | undefined;
    const handover = await waitUntil(
      "the lease to pass to a live instance",
      async () => {
        const owner = await leaseOwner();
        newHolder = live.find((g) => instanceOf(g) === owner);
        return newHolder !== undefined;
      },
      HEALTH_MS * 10,
      5,
    );
    redis.disconnect();
    t.diagnostic(`lease of ${dead.name} taken by ${newHolder!.name} ${handover.toFixed(0)} ms after the kill (lease ${HEALTH_MS * 2} ms, rounds every ${HEALTH_MS} ms)`);

    // The new holder runs the rounds: a key out of quota, topped up, comes back through its health check.
    sim.setKey(topped, "quota");
    await waitUntil("the broke key quarantined", async () => (await stateOn(live[0]!, topped)) === "quarantined", 5000);
    sim.topUp(topped, 100);
    const recovered = await waitUntil("the topped-up key back on both", async () => (await stateOn(live[0]!, topped)) === "active" && (await stateOn(live[1]!, topped)) === "active", HEALTH_MS * 10);
    const events = (await admin<{ data: AuditEvent[] }>(live[0]!, `/admin/events?credential=${credentialId(topped)}&kind=state&limit=10`)).data;
    const back = events.find((e) => e.to === "active");
    assert.equal(back?.instance, instanceOf(newHolder!), "reactivated by the new lease holder's health round");
    fig.fault("a key out of quota, then topped up");

    // A key removed through a survivor is gone from the other one, and gets no traffic.
    const t1 = performance.now();
    await admin(live[0]!, `/admin/keys/${credentialId(removed)}`, { method: "DELETE" });
    await waitUntil("the removal to reach the other survivor", async () => (await stateOn(live[1]!, removed)) === null, 5000, 2);
    const removal = performance.now() - t1;
    await sleep(100);
    const removedBefore = sim.stats(removed).requests;
    await sleep(700);
    assert.equal(sim.stats(removed).requests, removedBefore, "the removed key gets no traffic");
    fig.fault("a key removed through a survivor");

    for (const l of loads.values()) l.stop();
    assert.ok(await within(Promise.all([...loads.values()].map((l) => l.done())), 15_000));
    const liveFailed = live.flatMap((g) => loads.get(g)!.failed());
    assert.deepEqual(liveFailed.map((c) => c.error), [], "the survivors' clients saw no error");
    const cut = deadLoad.failed();
    for (const c of cut) assert.equal(c.error!.status, 0, "the killed instance's clients got a connection error");

    leaks.add("metrics", await (await fetch(`${live[0]!.url}/metrics`)).text());
    leaks.add("admin keys", await (await adminFetch(live[0]!, ADMIN, "/admin/keys")).text());
    leaks.add("admin events", await (await adminFetch(live[0]!, ADMIN, "/admin/events?limit=1000")).text());
    leaks.add("client errors", JSON.stringify(cut.map((c) => c.error)));
    await Promise.all(live.map((g) => kill(g, "SIGTERM")));
    for (const g of gateways) captureOutput(leaks, g);
    leaks.check(fig);

    const calls = [...loads.values()].reduce((n, l) => n + l.calls.length, 0);
    fig.sent(calls + adminCalls);
    fig.errors(cut.length, `calls to the killed instance cut (connection errors, within ${cutMs.toFixed(0)} ms)`);
    fig.timing("switch-off → held by the others", propagation);
    fig.timing("removal → held by the survivor", removal);
    fig.timing("kill → lease taken by a live instance", handover);
    fig.timing("top-up → key back (new holder's check)", recovered);
    fig.note(`${calls} calls over three instances; the switched-off key got ${victimAfter} requests after propagation; the removed one got none`);
  });
});
