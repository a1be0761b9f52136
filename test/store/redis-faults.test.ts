/**
 * The Redis store when Redis is away: calls fail fast with StoreError (never
 * hang), the store reconnects by itself, the change feed says "resync", and
 * close() leaves nothing running. Uses redis-servers of its own on free ports
 * (database 0 of those), never the shared one.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { KeypoolError } from "../../src/errors/keypool-error.ts";
import { makeEvent } from "../../src/pool/audit.ts";
import { openRedisStore } from "../../src/store/redis/index.ts";
import type { Change, Store } from "../../src/store/types.ts";
import { fakeKey, insertItem, record, waitFor } from "../helpers/records.ts";
import { freePort, OwnRedis } from "./redis-server.ts";
import { testPrefix } from "./redis-harness.ts";

const TIMEOUT_MS = 400;
/** Time for Node and the test runner around a bound, on a busy CI machine. */
const SLACK_MS = 250;

const isStoreError = (err: unknown): boolean => KeypoolError.is(err) && err.code === "KP_STORE";

/** Runs `op`, expecting a StoreError; returns how long the rejection took. */
async function rejectsFast(what: string, op: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await assert.rejects(op(), (err) => {
    assert.ok(isStoreError(err), `${what}: expected a StoreError, got ${String(err)}`);
    return true;
  });
  const took = performance.now() - start;
  assert.ok(took < TIMEOUT_MS + SLACK_MS, `${what} took ${took.toFixed(0)} ms to fail`);
  return took;
}

/** Every kind of call a pool makes, against one credential. */
function everyCall(store: Store): [string, () => Promise<unknown>][] {
  const r = record(fakeKey(7));
  return [
    ["ping", () => store.ping()],
    ["credentials.list", () => store.credentials.list()],
    ["credentials.get", () => store.credentials.get(r.id)],
    ["credentials.insertMany", () => store.credentials.insertMany([insertItem(r)])],
    ["credentials.update", () => store.credentials.update(r.id, { state: "retired" }, { from: ["active"] })],
    ["credentials.removeMany", () => store.credentials.removeMany([{ id: r.id, event: makeEvent(r, { kind: "removed", reason: "x" }, "t") }])],
    ["credentials.bumpStats", () => store.credentials.bumpStats([{ id: r.id, requests: 1, failures: 0, spentUsd: 0, lastUsedAt: null }])],
    ["events.query", () => store.events.query({})],
    ["usage.record", () => store.usage.record([{ id: "u1", time: 0, credentialId: r.id, tokenId: null, model: "m", promptTokens: 1, completionTokens: 1, costUsd: 0, estimated: false }])],
    ["leases.acquire", () => store.leases.acquire("health", "me", 1000)],
    ["counters.incr", () => store.counters.incr("rr", 1)],
    ["meta.get", () => store.meta.get("salt")],
    ["tokens.findByHash", () => store.tokens.findByHash("h")],
    ["conversations.get", () => store.conversations.get("c")],
  ];
}

describe("redis store: faults", () => {
  const servers: OwnRedis[] = [];
  const stores: Store[] = [];
  const own = async (): Promise<OwnRedis> => {
    const server = new OwnRedis(await freePort());
    servers.push(server);
    return server;
  };
  const open = async (url: string, prefix = testPrefix("faults")): Promise<Store> => {
    const store = await openRedisStore(url, { prefix, commandTimeoutMs: TIMEOUT_MS });
    stores.push(store);
    return store;
  };
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.dispose()));
  });

  it("fails fast on a closed port, then works once Redis starts there", async (t) => {
    const server = await own();
    const opened = performance.now();
    const store = await open(server.url);
    const openMs = performance.now() - opened;
    assert.ok(openMs < TIMEOUT_MS + SLACK_MS, `open took ${openMs.toFixed(0)} ms with nothing listening`);
    const changes: Change[] = [];
    store.changes.subscribe((c) => changes.push(c));
    let slowest = 0;
    for (const [what, op] of everyCall(store)) slowest = Math.max(slowest, await rejectsFast(what, op));
    await assert.rejects(store.ping(), /unreachable/);
    t.diagnostic(`closed port: open ${openMs.toFixed(1)} ms; slowest of ${everyCall(store).length} calls failed in ${slowest.toFixed(1)} ms`);

    await server.start();
    const recovered = await waitFor(async () => store.ping().then(() => true, () => false), 5000, 10);
    await waitFor(() => changes.some((c) => c.type === "resync"), 5000);
    t.diagnostic(`recovered ${recovered.toFixed(0)} ms after redis-server answered`);
    const r = record(fakeKey(8));
    await store.credentials.insertMany([insertItem(r)]);
    await waitFor(() => changes.some((c) => c.type === "upsert" && c.ids.includes(r.id)));
  });

  it("fails fast when Redis dies under load, reconnects both instances, and tells listeners to resync", async (t) => {
    const server = await own();
    await server.start();
    const prefix = testPrefix("faults");
    const a = await open(server.url, prefix);
    const b = await open(server.url, prefix);
    const changes: Change[] = [];
    b.changes.subscribe((c) => changes.push(c));
    const load = Array.from({ length: 20_000 }, (_, i) => record(fakeKey(10_000 + i)));
    // Settled into a value at once: it rejects while the test is still killing the server.
    const inFlight = a.credentials.insertMany(load.map((r) => insertItem(r))).then(
      () => null,
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    const killedAt = performance.now();
    await server.kill();
    const failure = await inFlight;
    assert.ok(isStoreError(failure), `the insert in flight ended with ${String(failure)}`);
    const inFlightMs = performance.now() - killedAt;
    assert.ok(inFlightMs < TIMEOUT_MS + SLACK_MS, `a bulk insert in flight took ${inFlightMs.toFixed(0)} ms to fail`);
    let slowest = 0;
    for (const store of [a, b]) for (const [what, op] of everyCall(store)) slowest = Math.max(slowest, await rejectsFast(what, op));
    t.diagnostic(`redis killed: the insert in flight failed after ${inFlightMs.toFixed(1)} ms; every call failed within ${slowest.toFixed(1)} ms`);

    await server.start();
    for (const store of [a, b]) await waitFor(async () => store.ping().then(() => true, () => false), 5000, 10);
    await waitFor(() => changes.some((c) => c.type === "resync"), 5000);
    const r = record(fakeKey(9));
    await a.credentials.insertMany([insertItem(r)]);
    await a.credentials.update(r.id, { state: "retired" }, { from: ["active"] });
    await waitFor(() => changes.some((c) => c.type === "upsert" && c.ids.includes(r.id)));
    assert.equal((await b.credentials.get(r.id))?.state, "retired");
  });

  it("times a frozen Redis out within the command timeout, then fails at once until it thaws", async (t) => {
    const server = await own();
    await server.start();
    const store = await open(server.url);
    await store.meta.set("k", "v");
    server.freeze();
    try {
      const first = await rejectsFast("meta.get on a frozen server", () => store.meta.get("k"));
      assert.ok(first >= TIMEOUT_MS - 50, "the first call waited for the command timeout");
      let slowest = 0;
      for (const [what, op] of everyCall(store)) slowest = Math.max(slowest, await rejectsFast(what, op));
      t.diagnostic(`frozen redis: the first call failed after ${first.toFixed(0)} ms (command timeout ${TIMEOUT_MS} ms), the next ${everyCall(store).length} within ${slowest.toFixed(1)} ms`);
      assert.ok(slowest < 100, "once a timeout dropped the connection, calls fail at once");
    } finally {
      server.thaw();
    }
    const back = await waitFor(async () => (await store.meta.get("k").catch(() => null)) === "v", 3000, 10);
    t.diagnostic(`thawed: answering again after ${back.toFixed(0)} ms`);
  });

  it("lets the process exit after close(), whether Redis answered or not", async () => {
    const server = await own();
    await server.start();
    const dead = await freePort();
    const entry = fileURLToPath(new URL("../../src/store/redis/index.ts", import.meta.url));
    const script = `
      import { openRedisStore } from ${JSON.stringify(entry)};
      const live = await openRedisStore(${JSON.stringify(server.url)}, { prefix: "exit-test:" });
      const gone = await openRedisStore("redis://127.0.0.1:${dead}/0", { commandTimeoutMs: 200 });
      live.changes.subscribe(() => {});
      gone.changes.subscribe(() => {});
      await live.meta.set("x", "1");
      await gone.meta.get("x").catch(() => {});
      await Promise.all([live.close(), gone.close()]);
      console.log("closed");
    `;
    const started = performance.now();
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve(null);
      }, 5000);
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, `the process did not exit by itself after close() (output: ${output})`);
    assert.match(output, /closed/);
    assert.ok(performance.now() - started < 5000);
  });
});
