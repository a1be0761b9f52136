/**
 * A client token's rpm holds across gateway instances on one store: each instance shares its
 * window of the token through the store (SQLite file, Redis), so two gateways together allow
 * the token's rpm, not twice it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { createPool } from "../../src/create-pool.ts";
import { SHARE_MS } from "../../src/gateway/auth/client-auth.ts";
import { startGateway, type Gateway } from "../../src/gateway/index.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { deletePrefix, redisUrl, requireRedis, testPrefix } from "../store/redis-harness.ts";
import { ADMIN, apiError, chat, key } from "./helpers.ts";

const KEY = key("shared");
const RPM = 5;

interface Pair {
  a: Gateway;
  b: Gateway;
  close(): Promise<void>;
}

/** Two gateways, each with its own pool and store connection, on one store. */
async function pairOn(sim: Simulator, store: string, redisPrefix?: string): Promise<Pair> {
  const open = async (keys: string[]): Promise<Gateway> => {
    const pool = await createPool({ store, upstream: `${sim.url}/v1`, keys, health: false, ...(redisPrefix === undefined ? {} : { redisPrefix }) });
    return startGateway({ host: "127.0.0.1", port: 0, adminToken: ADMIN }, { pool, logger: silentLogger(), defaultMetrics: false });
  };
  const a = await open([KEY]);
  const b = await open([]);
  return {
    a,
    b,
    async close() {
      for (const gw of [a, b]) {
        await gw.close(1000);
        await gw.pool.close();
      }
    },
  };
}

const client = (gw: Gateway, token: string): OpenAI => new OpenAI({ apiKey: token, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SHARE_MS * 2 + 200));

async function issue(gw: Gateway): Promise<string> {
  const res = await fetch(`${gw.url}/admin/tokens`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify({ name: "shared", rpm: RPM }) });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { token: string }).token;
}

/** Calls through `gw` until one is refused; returns how many were answered (at most `max`) and the refusal. */
async function callsUntilRefused(gw: Gateway, token: string, max: number): Promise<{ answered: number; refusal: ReturnType<typeof apiError> | null }> {
  for (let i = 0; i < max; i++) {
    try {
      await chat(client(gw, token));
    } catch (err) {
      return { answered: i, refusal: apiError(err) };
    }
  }
  return { answered: max, refusal: null };
}

function sharedRpm(name: string, setup: () => Promise<{ store: string; redisPrefix?: string; cleanup: () => Promise<void> }>): void {
  describe(`a client token's rpm across two gateways (${name})`, () => {
    let sim: Simulator;
    let pair: Pair;
    let cleanup: () => Promise<void>;
    before(async () => {
      sim = await startSimulator({ keys: { [KEY]: "ok" } });
      const s = await setup();
      cleanup = s.cleanup;
      pair = await pairOn(sim, s.store, s.redisPrefix);
    });
    after(async () => {
      await pair.close();
      await sim.close();
      await cleanup();
    });

    it("counts both gateways' requests against one limit, each learning the other's within a second", async () => {
      const token = await issue(pair.a);
      assert.equal((await callsUntilRefused(pair.a, token, 3)).answered, 3);
      await settle();
      const onB = await callsUntilRefused(pair.b, token, RPM);
      assert.equal(onB.answered, RPM - 3, "B allowed what A left of the minute");
      assert.equal(onB.refusal?.status, 429);
      assert.match(onB.refusal?.message ?? "", new RegExp(`over its limit of ${RPM} requests per minute`));
      await settle();
      const onA = await callsUntilRefused(pair.a, token, 1);
      assert.equal(onA.answered, 0, "A learned B's requests too");
      assert.equal(onA.refusal?.status, 429);
      assert.equal(sim.stats(KEY).statuses["200"], RPM, "the upstream saw exactly the token's rpm");
    });
  });
}

sharedRpm("SQLite file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "keypool-shared-rate-"));
  return { store: `sqlite:${join(dir, "pool.db")}`, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

sharedRpm("Redis", async () => {
  const url = redisUrl(6);
  await requireRedis(url);
  const prefix = testPrefix("shared-rate");
  return { store: url, redisPrefix: prefix, cleanup: async () => void (await deletePrefix(url, prefix)) };
});
