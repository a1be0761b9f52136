/** `keypool serve` as a process: graceful shutdown with requests in flight; two gateways on one Redis acting as one. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentialId } from "../../src/pool/credential-record.ts";
import { openStore } from "../../src/store/open-store.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { deletePrefix, redisUrl, requireRedis, testPrefix } from "../store/redis-harness.ts";
import { tempDir } from "../store/sqlite-temp.ts";
import { startServe, type ServeProcess } from "./child.ts";
import { ADMIN, key } from "./helpers.ts";

const post = (url: string, body: unknown): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("graceful shutdown", () => {
  const dir = tempDir("keypool-serve-");
  let sim: Simulator;
  let gw: ServeProcess;
  const SLOW = key("slow");
  before(async () => {
    sim = await startSimulator({ keys: { [SLOW]: "slow:ms=700,chunk_ms=60" } });
    gw = await startServe(["--store", `sqlite:${dir.file()}`, "--log-level", "warn", "--health-interval", "0"], { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: SLOW });
  });
  after(async () => {
    await gw.stop();
    await sim.close();
    dir.remove();
  });

  it("on SIGTERM finishes the requests in flight, refuses new connections, stores their usage and exits 0", async () => {
    const inflight = [
      post(gw.url, { model: "gpt-4o-mini", messages: [{ role: "user", content: "one" }] }).then(async (r) => ({ status: r.status, text: await r.text() })),
      post(gw.url, { model: "gpt-4o-mini", messages: [{ role: "user", content: "two" }] }).then(async (r) => ({ status: r.status, text: await r.text() })),
      post(gw.url, { model: "gpt-4o-mini", messages: [{ role: "user", content: "three" }], stream: true }).then(async (r) => ({ status: r.status, text: await r.text() })),
    ];
    const until = Date.now() + 3000;
    while (sim.requests(SLOW).length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sim.requests(SLOW).length, 3, "three requests reached the upstream");
    const t0 = Date.now();
    gw.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 150));
    await assert.rejects(fetch(`${gw.url}/healthz`), "no new connections while draining");
    const answers = await Promise.all(inflight);
    for (const a of answers) assert.equal(a.status, 200);
    assert.match(answers[0]!.text, /"object":"chat.completion"/);
    assert.match(answers[2]!.text, /data: \[DONE\]/);
    assert.equal(await gw.exited, 0, gw.stderr());
    assert.ok(Date.now() - t0 < 5000);
    assert.match(gw.stderr(), /keypool gateway stopped\n/);
    const store = await openStore(`sqlite:${dir.file()}`);
    try {
      const [row] = await store.usage.query({});
      assert.equal(row!.requests, 3, "each acknowledged answer's usage was stored");
      assert.equal(row!.promptTokens + row!.completionTokens, sim.stats(SLOW).total_tokens);
    } finally {
      await store.close();
    }
  });
});

describe("shutdown when nobody reads the logs", () => {
  let sim: Simulator;
  let gw: ServeProcess;
  const OK = key("ok");
  before(async () => {
    sim = await startSimulator({ keys: { [OK]: "ok" } });
    gw = await startServe(["--store", "memory", "--health-interval", "0"], { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: OK }, { readLogs: false });
  });
  after(async () => {
    if (gw.child.exitCode === null) gw.child.kill("SIGKILL");
    await sim.close();
  });

  it("still exits on SIGTERM after its stdout pipe filled up", async () => {
    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "log me" }] };
    for (let i = 0; i < 60; i++) await Promise.all(Array.from({ length: 50 }, () => post(gw.url, body).then((r) => r.arrayBuffer())));
    const t0 = Date.now();
    gw.child.kill("SIGTERM");
    const code = await Promise.race([gw.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 8000))]);
    assert.notEqual(code, "still running", "the gateway hung on its unread stdout");
    assert.ok(Date.now() - t0 < 8000);
  });
});

describe("a gateway with the busy-poll window", () => {
  let sim: Simulator;
  let gw: ServeProcess;
  const OK = key("busypollok");
  before(async () => {
    sim = await startSimulator({ keys: { [OK]: "ok" } });
    gw = await startServe(["--store", "memory", "--health-interval", "0", "--busy-poll", "2000"], { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_KEYS: OK });
  });
  after(async () => {
    if (gw.child.exitCode === null) gw.child.kill("SIGKILL");
    await sim.close();
  });

  it("says so at start, answers, and exits on SIGTERM as one without", async () => {
    // The banner goes on after the address that startServe waits for.
    for (let i = 0; i < 200 && !gw.stderr().includes("Ctrl+C"); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(gw.stderr(), /busy-poll {3}up to 2000 µs after traffic, while gaps are that short/);
    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "poll" }] };
    for (let i = 0; i < 20; i++) {
      const r = await post(gw.url, body);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    assert.equal(sim.stats(OK).requests, 20);
    const t0 = Date.now();
    gw.child.kill("SIGTERM");
    const code = await Promise.race([gw.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 8000))]);
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 8000);
  });
});

describe("two gateway processes on one Redis", () => {
  const url = redisUrl(5);
  const prefix = testPrefix("gateway");
  let sim: Simulator;
  let one: ServeProcess;
  let two: ServeProcess;
  const A = key("a");
  const B = key("b");
  const C = key("c");
  const admin = (gw: ServeProcess, path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${gw.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", ...init.headers } });
  const stateIn = async (gw: ServeProcess, k: string): Promise<string | null> => {
    const res = await admin(gw, `/admin/keys/${credentialId(k)}`);
    return res.status === 404 ? null : ((await res.json()) as { state: string }).state;
  };
  const waitFor = async (what: () => Promise<boolean>, ms = 3000): Promise<number> => {
    const t0 = Date.now();
    while (!(await what())) {
      if (Date.now() - t0 > ms) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 10));
    }
    return Date.now() - t0;
  };

  before(async () => {
    await requireRedis(url);
    sim = await startSimulator({ keys: { [A]: "ok", [B]: "ok", [C]: "ok" } });
    const env = { KEYPOOL_UPSTREAM: `${sim.url}/v1`, KEYPOOL_ADMIN_TOKEN: ADMIN, KEYPOOL_REDIS_PREFIX: prefix };
    const args = ["--store", url, "--log-level", "warn", "--health-interval", "0", "--strategy", "round-robin"];
    [one, two] = await Promise.all([startServe(args, { ...env, KEYPOOL_KEYS: `${A},${B}` }), startServe(args, env)]);
  });
  after(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    await sim?.close();
    await deletePrefix(url, prefix);
  });

  it("the second sees keys added and disabled through the first, and stops using a disabled key", async (t) => {
    await waitFor(async () => (await stateIn(two, A)) === "active" && (await stateIn(two, B)) === "active");
    const id = credentialId(A);
    assert.equal((await admin(one, `/admin/keys/${id}/disable`, { method: "POST", body: "{}" })).status, 200);
    const propagation = await waitFor(async () => (await stateIn(two, A)) === "disabled");
    assert.ok(propagation < 1000, `propagated in ${propagation} ms`);
    t.diagnostic(`disable through the first gateway seen by the second after ${propagation} ms (admin API polled every 10 ms)`);
    const aBefore = sim.stats(A).requests;
    for (let i = 0; i < 10; i++) assert.equal((await post(two.url, { model: "gpt-4o-mini", messages: [{ role: "user", content: `q${i}` }] })).status, 200);
    assert.equal(sim.stats(A).requests, aBefore, "no traffic to the disabled key");

    const add = await admin(one, "/admin/keys", { method: "POST", body: JSON.stringify({ keys: [C] }) });
    assert.equal(add.status, 201);
    await waitFor(async () => (await stateIn(two, C)) === "active");
    await admin(one, `/admin/keys/${credentialId(B)}`, { method: "DELETE" });
    await waitFor(async () => (await stateIn(two, B)) === null);
    const cBefore = sim.stats(C).requests;
    const bBefore = sim.stats(B).requests;
    for (let i = 0; i < 5; i++) assert.equal((await post(two.url, { model: "gpt-4o-mini", messages: [{ role: "user", content: `r${i}` }] })).status, 200);
    assert.equal(sim.stats(C).requests, cBefore + 5, "the key added through the first serves the second");
    assert.equal(sim.stats(B).requests, bBefore, "the removed key gets nothing");
  });

  it("shares client tokens: one created through the first works on the second, and a revoke holds on both", async () => {
    const created = (await (await admin(one, "/admin/tokens", { method: "POST", body: JSON.stringify({ name: "shared" }) })).json()) as { id: string; token: string };
    const call = (gw: ServeProcess): Promise<number> => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${created.token}` } }).then((r) => r.status);
    assert.equal(await call(two), 200);
    assert.equal(await call(one), 200);
    await admin(one, `/admin/tokens/${created.id}`, { method: "DELETE" });
    const took = await waitFor(async () => (await call(two)) === 401, 3000);
    assert.ok(took < 1500, `revoke reached the second gateway in ${took} ms`);
  });
});
