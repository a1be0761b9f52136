/** A simulator and a pool in front of it, with the official SDK as the client. */
import OpenAI from "openai";
import { createPool } from "../../src/create-pool.ts";
import type { PoolOptions } from "../../src/pool/options.ts";
import type { Pool } from "../../src/pool/pool.ts";
import { startSimulator, type Simulator } from "../../src/sim/index.ts";

export interface SimPool {
  sim: Simulator;
  pool: Pool;
  client: OpenAI;
  close(): Promise<void>;
}

export async function simPool(keys: Record<string, string>, options: PoolOptions = {}, sim?: Simulator): Promise<SimPool> {
  const s = sim ?? (await startSimulator({ keys }));
  if (sim !== undefined) for (const [k, b] of Object.entries(keys)) s.setKey(k, b);
  const pool = await createPool({ upstream: `${s.url}/v1`, keys: Object.keys(keys), health: false, ...options });
  const client = new OpenAI({ apiKey: "pooled", baseURL: `${s.url}/v1`, fetch: pool.fetch, maxRetries: 0 });
  return {
    sim: s,
    pool,
    client,
    async close() {
      await pool.close();
      if (sim === undefined) await s.close();
    },
  };
}

/** A key that reads as what it does: `sk-<name>-<digits>`, long enough to be a key. */
export const simKey = (name: string, n = 1): string => `sk-${name.replace(/[^a-z0-9]/gi, "")}-${String(n).padStart(24, "0")}`;

export const ask = (client: OpenAI, content = "hello", model = "gpt-4o-mini") =>
  client.chat.completions.create({ model, messages: [{ role: "user", content }] });

/** Runs `total` calls with `concurrency` workers; returns the errors they raised. */
export async function load(total: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<unknown[]> {
  const errors: unknown[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        try {
          await call(i);
        } catch (err) {
          errors.push(err);
        }
      }
    }),
  );
  return errors;
}
