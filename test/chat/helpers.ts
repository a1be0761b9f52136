/**
 * Shared by the chat tests: a simulator, and pools on each store kind
 * (memory; SQLite in a temp dir; Redis DB 7 under a random prefix, cleaned
 * afterwards). Redis must answer: its tests fail, never skip, without it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPool } from "../../src/create-pool.ts";
import type { PoolOptions } from "../../src/pool/options.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/sim/index.ts";
import { deletePrefix, redisUrl, requireRedis, testPrefix } from "../store/redis-harness.ts";

export type StoreKind = "memory" | "sqlite" | "redis";
export const STORE_KINDS: readonly StoreKind[] = ["memory", "sqlite", "redis"];

interface After {
  after(fn: () => Promise<void> | void): void;
}

/** Where a test's store lives; `open` may be called again to reopen the same data (a restart). */
export interface TestStore {
  kind: StoreKind;
  options: Pick<PoolOptions, "store" | "redisPrefix">;
}

export async function testStore(t: After, kind: StoreKind, db = 7): Promise<TestStore> {
  if (kind === "memory") return { kind, options: { store: "memory" } };
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "keypool-chat-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return { kind, options: { store: `sqlite:${join(dir, "chat.db")}` } };
  }
  const url = redisUrl(db);
  await requireRedis(url);
  const prefix = testPrefix("chat");
  t.after(async () => {
    await deletePrefix(url, prefix);
  });
  return { kind, options: { store: url, redisPrefix: prefix } };
}

export async function testSim(t: After, options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator(options);
  t.after(() => sim.close());
  return sim;
}

/** A pool in front of the simulator's API, closed after the test (closing twice is fine). */
export async function testPool(t: After, sim: Simulator, store: TestStore, options: PoolOptions = {}): Promise<Pool> {
  const pool = await createPool({ upstream: `${sim.url}/v1`, health: false, ...store.options, ...options });
  t.after(() => pool.close());
  return pool;
}

/** A key that reads as what it does, long enough to be masked. */
export const simKey = (name: string, n = 1): string => `sk-${name.replace(/[^a-z0-9]/gi, "")}-${String(n).padStart(24, "0")}`;

/** A session token for the simulator's web backend. */
export const sessionToken = (name: string): string => `sess-${name.replace(/[^a-z0-9]/gi, "")}-${"0".repeat(24)}`;

/** Waits until `check` holds (state changes are written behind). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The chat completion requests the simulator received from `key`, oldest first. */
export function completionBodies(sim: Simulator, key?: string): { model: string; messages: { role: string; content: string }[] }[] {
  return sim
    .requests(key)
    .filter((r) => r.path === "/v1/chat/completions")
    .map((r) => r.body as { model: string; messages: { role: string; content: string }[] });
}
