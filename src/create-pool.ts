/**
 * createPool: the composition root of the library. Opens the store, loads the
 * credentials, and wires the pure core to its edges (undici transport, probes,
 * the health checker).
 */
import { hostname } from "node:os";
import { ConfigError } from "./errors/index.ts";
import { DEFAULT_POLICY } from "./pool/policy.ts";
import { loadPrices } from "./pool/prices.ts";
import { HealthChecker } from "./pool/health/checker.ts";
import type { PoolOptions } from "./pool/options.ts";
import { Pool, type PoolConfig } from "./pool/pool.ts";
import { STRATEGIES } from "./pool/selection/strategies.ts";
import { openStore } from "./store/open-store.ts";
import type { Store } from "./store/types.ts";
import { Dispatchers, type UpstreamClient } from "./transport/dispatchers.ts";
import { createApiProbe } from "./transport/probe.ts";
import { createPooledFetch } from "./transport/pooled-fetch.ts";
import { registerWebProbe } from "./chat/backends/web/web-probe-registration.ts";

export const DEFAULT_UPSTREAM = "https://api.openai.com/v1";

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0) throw new ConfigError(name, `must be a non-negative number, got ${v}`);
  return v;
}

const CLIENTS: readonly UpstreamClient[] = ["keypool", "undici"];

/** The option, else `KEYPOOL_UPSTREAM_CLIENT`, else keypool's own; an error names where a bad value came from. */
function upstreamClient(option: string | undefined): UpstreamClient {
  const env = process.env.KEYPOOL_UPSTREAM_CLIENT;
  const [field, v] = option !== undefined ? ["upstreamClient", option] : ["KEYPOOL_UPSTREAM_CLIENT", env === "" ? undefined : env];
  if (v === undefined) return "keypool";
  if (!(CLIENTS as readonly string[]).includes(v)) throw new ConfigError(field, `must be "keypool" or "undici", got "${v}"`);
  return v as UpstreamClient;
}

export function resolveConfig(o: PoolOptions): PoolConfig {
  const strategy = o.strategy ?? "headroom";
  if (!STRATEGIES.includes(strategy)) throw new ConfigError("strategy", `must be one of ${STRATEGIES.join(", ")}, got "${strategy}"`);
  const upstream = (o.upstream ?? DEFAULT_UPSTREAM).replace(/\/+$/, "");
  if (!/^https?:\/\/./.test(upstream)) throw new ConfigError("upstream", `must be an http(s) URL, got "${upstream}"`);
  const policy = { ...DEFAULT_POLICY, ...o.policy, ...(o.onInvalid === undefined ? {} : { onInvalid: o.onInvalid }) };
  if (policy.onInvalid !== "retire" && policy.onInvalid !== "remove") throw new ConfigError("onInvalid", `must be "retire" or "remove"`);
  const t = o.timeouts ?? {};
  return {
    upstream,
    strategy,
    policy,
    retry: { maxRetries: positive("maxRetries", o.maxRetries, 3), maxAttempts: Math.max(1, positive("maxAttempts", o.maxAttempts, 10)) },
    deadlineMs: positive("deadlineMs", o.deadlineMs, 600_000),
    maxWaitMs: positive("maxWaitMs", o.maxWaitMs, 10_000),
    timeouts: { connectMs: positive("timeouts.connectMs", t.connectMs, 10_000), headersMs: positive("timeouts.headersMs", t.headersMs, 60_000), bodyMs: positive("timeouts.bodyMs", t.bodyMs, 60_000) },
    prices: o.prices ?? {},
    instance: o.instance ?? `${hostname()}:${process.pid}`,
    rng: o.rng ?? Math.random,
  };
}

/** Creates a pool: `const pool = await createPool({ keys, upstream }); new OpenAI({ apiKey: "pooled", fetch: pool.fetch })`. */
export async function createPool(options: PoolOptions = {}): Promise<Pool> {
  const config = resolveConfig(options);
  const ownsStore = typeof options.store !== "object";
  const store: Store =
    typeof options.store === "object"
      ? options.store
      : await openStore(options.store ?? "memory", { secretKey: options.secretKey ?? process.env.KEYPOOL_SECRET_KEY, instance: config.instance, redisPrefix: options.redisPrefix });
  try {
    await loadPrices();
    const pool = await Pool.open(store, config);
    const log = options.logger;
    if (log !== undefined) pool.on("error", (err: unknown) => log.warn({ err }, "pool: background work failed"));
    const dispatchers = new Dispatchers({ connectMs: config.timeouts.connectMs, client: upstreamClient(options.upstreamClient) });
    pool.fetch = createPooledFetch(pool, dispatchers);
    const h = options.health === false ? {} : (options.health ?? {});
    const health = new HealthChecker(pool, { api: createApiProbe(pool, dispatchers) }, {
      intervalMs: positive("health.intervalMs", h.intervalMs, 60_000),
      activeEvery: Math.max(1, positive("health.activeEvery", h.activeEvery, 10)),
      concurrency: Math.max(1, positive("health.concurrency", h.concurrency, 8)),
    });
    pool.attach({ health, dispatchers, onClose: () => dispatchers.close() });
    // Web sessions are probed through /api/auth/session (their backend's own check).
    registerWebProbe(pool);
    if (ownsStore) pool.attach({ onClose: () => store.close() });
    if (options.keys !== undefined && options.keys.length > 0) await pool.add(options.keys);
    if (options.health !== false) health.start();
    return pool;
  } catch (err) {
    if (ownsStore) await store.close().catch(() => {});
    throw err;
  }
}
