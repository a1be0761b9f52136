/** Opens the pool the CLI commands work on: the store and upstream from flags or the environment. */
import { createPool } from "../create-pool.ts";
import { readEnv } from "../config/env.ts";
import type { PoolOptions } from "../pool/options.ts";
import type { Pool } from "../pool/pool.ts";

export interface CliPoolFlags {
  store?: string;
  upstream?: string;
}

/** A pool for a one-off command: no background health rounds, KEYPOOL_KEYS not loaded (that is `serve`'s job). */
export async function openCliPool(flags: CliPoolFlags = {}, extra: PoolOptions = {}): Promise<Pool> {
  const env = readEnv();
  const upstream = flags.upstream ?? env.upstream;
  return createPool({
    store: flags.store ?? env.store,
    ...(upstream === undefined ? {} : { upstream }),
    ...(env.secretKey === undefined ? {} : { secretKey: env.secretKey }),
    health: false,
    ...extra,
  });
}
