/** What survives: a pool on SQLite killed with SIGKILL, and two pools sharing one Redis. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { createPool } from "../../src/create-pool.ts";
import { credentialId } from "../../src/pool/credential-record.ts";
import { openStore } from "../../src/store/open-store.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { ask, load, simKey, simPool } from "../helpers/sim-pool.ts";
import { sleep, waitFor } from "../helpers/records.ts";
import { testStore } from "../helpers/stores.ts";

const CHILD = new URL("./fixtures/pool-under-load.ts", import.meta.url).pathname;

describe("persistence", () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({});
  });
  after(async () => {
    await sim.close();
  });

  it("keeps every acknowledged key, state and audit entry when a pool on SQLite is killed mid-load", async () => {
    const ts = await testStore("sqlite", 0);
    const behaviours = ["ok", "invalid", "deactivated", "quota", "rate-limited", "flaky", "reset", "ok"];
    const keys = behaviours.map((b, n) => simKey(`crash${b.replace(/[^a-z]/g, "")}`, n));
    keys.forEach((k, n) => sim.setKey(k, behaviours[n]!));
    const child = spawn(process.execPath, [CHILD, ts.spec, `${sim.url}/v1`, ...keys], { stdio: ["ignore", "pipe", "inherit"] });
    const added = new Set<string>();
    const events = new Map<string, { credential: string; to: string }>();
    let loadLines = 0;
    const lines = createInterface({ input: child.stdout! });
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    lines.on("line", (line) => {
      const [what, a, b, c] = line.split(" ");
      if (what === "added") added.add(a!);
      else if (what === "event" && b !== undefined) events.set(a!, { credential: b, to: c! });
      else if (what === "load") loadLines++;
    });
    try {
      await waitFor(() => loadLines > 0 && [...events.values()].filter((e) => e.to !== "active").length >= 4, 15_000);
      await sleep(50); // let the load run on a little: the kill lands mid-traffic
      child.kill("SIGKILL");
      await exited;
      const store = await ts.open();
      try {
        const stored = new Map((await store.credentials.list()).map((r) => [r.id, r]));
        for (const id of added) assert.ok(stored.has(id), `acknowledged key ${id} survived`);
        const storedEvents = new Map((await store.events.query({ limit: 10_000 })).map((e) => [e.id, e]));
        for (const [id, e] of events) {
          const got = storedEvents.get(id);
          assert.ok(got, `acknowledged event ${id} survived`);
          assert.equal(got.credentialId, e.credential);
        }
        // Each key's stored state is the one its newest stored event says.
        for (const r of stored.values()) {
          const newest = (await store.events.query({ credentialId: r.id, kind: "state", limit: 1 }))[0];
          if (newest !== undefined) assert.equal(r.state, newest.to, `${r.id} state matches its last event`);
        }
        assert.equal(stored.get(credentialId(keys[1]!))?.state, "retired", "the invalid key's retirement survived");
      } finally {
        await store.close();
      }
      // A new pool on the same file serves at once.
      const reopened = await createPool({ store: ts.spec, upstream: `${sim.url}/v1`, health: false });
      try {
        const res = await reopened.fetch(`${sim.url}/v1/models`);
        assert.equal(res.status, 200);
      } finally {
        await reopened.close();
      }
    } finally {
      child.kill("SIGKILL");
      await ts.cleanup();
    }
  });

  for (const kind of ["redis", "sqlite"] as const) {
    it(`propagates a retirement between two pools on one ${kind} store, and settles races consistently`, async (t) => {
      const ts = await testStore(kind, 4, "twopools");
      const keys = Object.fromEntries(Array.from({ length: 6 }, (_, n) => [simKey(`twin${kind}`, n), "ok"]));
      const a = await simPool(keys, { store: await ts.open(), strategy: "round-robin" }, sim);
      const b = await simPool({}, { store: await ts.open(), strategy: "round-robin" }, sim);
      try {
        await waitFor(() => b.pool.list().length === 6, 5000);
        const delays: number[] = [];
        for (const [n, key] of Object.keys(keys).slice(0, 3).entries()) {
          const t0 = performance.now();
          await a.pool.disable(key, `test ${n}`);
          delays.push(await waitFor(() => b.pool.get(key)!.state === "disabled", 5000, 1));
          void t0;
        }
        delays.sort((x, y) => x - y);
        t.diagnostic(`${kind}: propagation of a state change to the other pool: ${delays.map((d) => d.toFixed(1)).join(", ")} ms (aim < 50 ms)`);
        assert.ok(delays.at(-1)! < 500, `propagation took ${delays.at(-1)} ms`);
        // The other pool no longer sends to disabled keys.
        const seenBefore = Object.keys(keys).slice(0, 3).map((k) => sim.stats(k).requests);
        await load(30, 3, () => ask(b.client));
        assert.deepEqual(Object.keys(keys).slice(0, 3).map((k) => sim.stats(k).requests), seenBefore);

        // Race: both pools hit the same dying keys at once; each ends retired exactly once.
        const dying = Object.keys(keys).slice(3, 5);
        for (const k of dying) sim.setKey(k, "invalid");
        await Promise.all([load(20, 4, () => ask(a.client)), load(20, 4, () => ask(b.client))]);
        for (const k of dying) {
          const id = credentialId(k);
          const retirements = (await a.pool.events({ credentialId: id, kind: "state", limit: 100 })).filter((e) => e.to === "retired");
          assert.equal(retirements.length, 1, `${k} retired once, not once per pool`);
          await waitFor(() => a.pool.get(id)!.state === "retired" && b.pool.get(id)!.state === "retired", 5000);
          assert.equal((await a.pool.store.credentials.get(id))?.state, "retired");
        }
      } finally {
        await a.close();
        await b.close();
        await a.pool.store.close();
        await b.pool.store.close();
        await ts.cleanup();
      }
    });
  }

  it("reopens a Redis pool with its states intact", async () => {
    const ts = await testStore("redis", 4, "reopen");
    const bad = simKey("reopenbad");
    const spec = { store: ts.spec, redisPrefix: ts.redisPrefix! };
    const first = await simPool({ [bad]: "quota", [simKey("reopenok")]: "ok" }, { ...spec, strategy: "round-robin" }, sim);
    try {
      await load(4, 1, () => ask(first.client));
      assert.equal(first.pool.get(bad)!.state, "quarantined");
    } finally {
      await first.close();
    }
    const second = await createPool({ ...spec, upstream: `${sim.url}/v1`, health: false });
    try {
      assert.equal(second.get(bad)!.state, "quarantined");
      assert.equal(second.list().length, 2);
      await openStore("memory"); // unrelated: a memory store opens alongside
    } finally {
      await second.close();
      await ts.cleanup();
    }
  });
});
