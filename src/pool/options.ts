import type { Logger } from "pino";
import type { Store } from "../store/types.ts";
import type { PoolPolicy } from "./policy.ts";
import type { PriceTable } from "./prices.ts";
import type { StrategyName } from "./selection/strategies.ts";
import type { CredentialInput } from "./types.ts";

export interface HealthOptions {
  /** Time between probe rounds (default one minute, like the write-up's job). */
  intervalMs?: number;
  /** Active keys are probed every Nth round (default 10); the others every round. */
  activeEvery?: number;
  /** Probes running at once (default 8). */
  concurrency?: number;
}

export interface TimeoutOptions {
  /** Time to connect to the upstream (default 10 s). */
  connectMs?: number;
  /** Time to the response headers (default 60 s; reasoning models think before they answer). */
  headersMs?: number;
  /** Longest silence between body chunks (default 60 s). */
  bodyMs?: number;
}

export interface PoolOptions {
  /** A store, or `memory`, `sqlite:PATH`, `redis://HOST:PORT/DB` (default `memory`). */
  store?: Store | string;
  /** Credentials added at start (duplicates of stored ones are recognised). */
  keys?: ReadonlyArray<string | CredentialInput>;
  /** Default upstream base URL (default `https://api.openai.com/v1`). */
  upstream?: string;
  /** Key selection (default `headroom`, which acts as least-recently-used until rate-limit headers arrive). */
  strategy?: StrategyName;
  onInvalid?: PoolPolicy["onInvalid"];
  policy?: Partial<PoolPolicy>;
  /** Retries after ambiguous faults (default 3). A key's own faults always fail over. */
  maxRetries?: number;
  /** Hard cap on attempts per request (default 10). */
  maxAttempts?: number;
  /** Overall time budget of one request, all attempts and waits included (default 10 minutes). */
  deadlineMs?: number;
  /** How long a request waits for a cooling key to come back before failing (default 10 s). */
  maxWaitMs?: number;
  timeouts?: TimeoutOptions;
  /**
   * The HTTP client for upstream calls without a proxy: `keypool` (its own HTTP/1.1 client, about
   * half undici's cost per call) or `undici`. Default: `KEYPOOL_UPSTREAM_CLIENT`, else `keypool`.
   * Credentials behind a proxy always go through undici.
   */
  upstreamClient?: "keypool" | "undici";
  /** `false` turns the background health checker off (probe() still works). */
  health?: HealthOptions | false;
  /** USD per million tokens, overriding the built-in table. */
  prices?: PriceTable;
  /** Name of this process in the audit log (default: host and pid). */
  instance?: string;
  /** Encrypts secrets at rest (default: `KEYPOOL_SECRET_KEY`). */
  secretKey?: string;
  /** Key prefix in Redis (default `keypool:`). */
  redisPrefix?: string;
  /** Where background failures go (a change feed that could not be read, a write that failed for good); unset, they are dropped unless you listen to the pool's "error" event. */
  logger?: Logger;
  /** Random source for selection (tests). */
  rng?: () => number;
}
