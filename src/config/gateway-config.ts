/**
 * The gateway's configuration: flags > environment > config file > defaults,
 * each field validated on its own so an error names the field and where its
 * value came from (`port: must be ... (from env PORT)`).
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors/index.ts";
import { LOG_LEVELS, type LogLevel } from "../util/logger.ts";
import { DEFAULT_STORE } from "./env.ts";
import { parseCredentialInput } from "../pool/credential-input.ts";
import type { CredentialInput } from "../pool/types.ts";
import { STRATEGIES, type StrategyName } from "../pool/selection/strategies.ts";
import { DEFAULT_BUSY_POLL_US } from "../gateway/http/busy-poll.ts";

export interface GatewayConfig {
  store: string;
  upstream: string | undefined;
  /** Keys loaded at start (KEYPOOL_KEYS), like the write-up's init. */
  keys: Array<string | CredentialInput>;
  adminToken: string | undefined;
  secretKey: string | undefined;
  port: number;
  host: string;
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes: number;
  logLevel: LogLevel;
  /** How long in-flight requests get to finish on SIGTERM. */
  shutdownTimeoutMs: number;
  /** Time a client has to send its request headers, and its whole request. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  strategy: StrategyName | undefined;
  /** Health-check interval; 0 turns the background checker off. */
  healthIntervalMs: number;
  /** Overall time budget of one proxied request. */
  deadlineMs: number | undefined;
  /** Longest wait for an upstream's first byte, and longest silence inside an answer, before failing over. */
  upstreamTimeoutMs: number;
  /** The most microseconds the event loop keeps polling after a request starts or ends, adapting to the traffic's gaps (0: off; src/gateway/http/busy-poll.ts). */
  busyPollUs: number;
  /** Key prefix in Redis (default `keypool:`): several pools on one database. */
  redisPrefix: string | undefined;
  /** USD per million tokens by model, over the built-in table. */
  prices: Record<string, { input: number; output: number }> | undefined;
}

/** The flags `keypool serve` takes (commander's camel-cased names). */
export interface GatewayFlags {
  store?: string;
  upstream?: string;
  adminToken?: string;
  port?: string;
  host?: string;
  maxBody?: string;
  logLevel?: string;
  shutdownTimeout?: string;
  strategy?: string;
  healthInterval?: string;
  upstreamTimeout?: string;
  busyPoll?: string;
  config?: string;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 };

/** `10mb`, `512kb`, `1048576` → bytes. */
const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const m = typeof v === "number" ? null : /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  const n = typeof v === "number" ? v : m === null ? Number.NaN : Number(m[1]) * (SIZE_UNITS[m[2]!.toLowerCase()] ?? Number.NaN);
  if (!Number.isFinite(n) || n < 1) {
    ctx.addIssue({ code: "custom", message: `must be a size such as 10mb, 512kb or a byte count, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return Math.floor(n);
});

/** An integer given as a number or a numeric string. */
const int = (min: number, max: number) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = typeof v === "number" ? v : /^\s*-?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return n;
  });

const store = z
  .string()
  .trim()
  .refine((s) => s === "memory" || /^sqlite:.+/.test(s) || /^rediss?:\/\/./.test(s), "must be memory, sqlite:PATH or redis://HOST:PORT/DB");
const url = z.string().trim().regex(/^https?:\/\/[^\s]+$/, "must be an http(s) URL");
const secretText = (what: string) => z.string().trim().min(16, `${what} must be at least 16 characters (use e.g. openssl rand -hex 24)`);
/** Keys: a comma-separated string (env) or an array of keys and credential objects (file); each validated. */
const keys = z.union([z.string(), z.array(z.unknown())]).transform((v, ctx) => {
  const items: unknown[] = typeof v === "string" ? v.split(",").map((k) => k.trim()).filter((k) => k !== "") : v;
  const out: Array<string | CredentialInput> = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    try {
      parseCredentialInput(item as string | CredentialInput);
      out.push(typeof item === "string" ? item.trim() : (item as CredentialInput));
    } catch (err) {
      ctx.addIssue({ code: "custom", message: `entry ${i + 1}: ${(err as Error).message}` });
      return z.NEVER;
    }
  }
  return out;
});

interface Field {
  schema: z.ZodType;
  flag?: string;
  env?: string;
  file?: string;
  fallback: unknown;
}

const FIELDS = {
  store: { schema: store, flag: "--store", env: "KEYPOOL_STORE", file: "store", fallback: DEFAULT_STORE },
  upstream: { schema: url, flag: "--upstream", env: "KEYPOOL_UPSTREAM", file: "upstream", fallback: undefined },
  keys: { schema: keys, env: "KEYPOOL_KEYS", file: "keys", fallback: [] },
  adminToken: { schema: secretText("the admin token"), flag: "--admin-token", env: "KEYPOOL_ADMIN_TOKEN", file: "adminToken", fallback: undefined },
  secretKey: { schema: z.string().trim().min(1), env: "KEYPOOL_SECRET_KEY", file: "secretKey", fallback: undefined },
  port: { schema: int(0, 65_535), flag: "--port", env: "PORT", file: "port", fallback: 8787 },
  host: { schema: z.string().trim().min(1), flag: "--host", env: "HOST", file: "host", fallback: "127.0.0.1" },
  maxBodyBytes: { schema: size, flag: "--max-body", env: "KEYPOOL_MAX_BODY", file: "maxBodyBytes", fallback: 10 * 1024 * 1024 },
  logLevel: { schema: z.enum(LOG_LEVELS), flag: "--log-level", env: "KEYPOOL_LOG_LEVEL", file: "logLevel", fallback: "info" },
  shutdownTimeoutMs: { schema: int(0, 3_600_000), flag: "--shutdown-timeout", env: "KEYPOOL_SHUTDOWN_TIMEOUT_MS", file: "shutdownTimeoutMs", fallback: 10_000 },
  headersTimeoutMs: { schema: int(1000, 600_000), file: "headersTimeoutMs", fallback: 20_000 },
  requestTimeoutMs: { schema: int(1000, 3_600_000), file: "requestTimeoutMs", fallback: 120_000 },
  strategy: { schema: z.enum(STRATEGIES), flag: "--strategy", env: "KEYPOOL_STRATEGY", file: "strategy", fallback: undefined },
  healthIntervalMs: { schema: int(0, 86_400_000), flag: "--health-interval", env: "KEYPOOL_HEALTH_INTERVAL_MS", file: "healthIntervalMs", fallback: 60_000 },
  deadlineMs: { schema: int(1000, 3_600_000), file: "deadlineMs", fallback: undefined },
  upstreamTimeoutMs: { schema: int(100, 3_600_000), flag: "--upstream-timeout", env: "KEYPOOL_UPSTREAM_TIMEOUT_MS", file: "upstreamTimeoutMs", fallback: 60_000 },
  busyPollUs: { schema: int(0, 10_000), flag: "--busy-poll", env: "KEYPOOL_BUSY_POLL_US", file: "busyPollUs", fallback: DEFAULT_BUSY_POLL_US },
  redisPrefix: { schema: z.string().trim().min(1).max(100), env: "KEYPOOL_REDIS_PREFIX", file: "redisPrefix", fallback: undefined },
  prices: { schema: z.record(z.string().min(1), z.object({ input: z.number().min(0), output: z.number().min(0) }).strict()), file: "prices", fallback: undefined },
} satisfies Record<keyof GatewayConfig, Field>;

const FLAG_KEYS: Record<string, keyof GatewayFlags> = {
  "--store": "store",
  "--upstream": "upstream",
  "--admin-token": "adminToken",
  "--port": "port",
  "--host": "host",
  "--max-body": "maxBody",
  "--log-level": "logLevel",
  "--shutdown-timeout": "shutdownTimeout",
  "--strategy": "strategy",
  "--health-interval": "healthInterval",
  "--upstream-timeout": "upstreamTimeout",
  "--busy-poll": "busyPoll",
};

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("--config", `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError("--config", `${path} is not valid JSON: ${jsonSyntaxError(text, err as Error)}`, err);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ConfigError("--config", `${path} must hold a JSON object`);
  const known = new Set(Object.values(FIELDS).map((f: Field) => f.file));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new ConfigError(key, `unknown field in config file ${path} (known: ${[...known].join(", ")})`);
  }
  return parsed as Record<string, unknown>;
}

/** Whether a prefix of a JSON text is still fine (complete, or cut short) rather than broken inside. */
function fineSoFar(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    const m = (err as Error).message;
    const at = /at position (\d+)/.exec(m);
    return m.includes("Unexpected end of JSON input") || (at !== null && Number(at[1]) >= prefix.length);
  }
}

/**
 * `line L, column C: what` for a JSON syntax error. The position is found by
 * parsing prefixes (V8 names it for some errors only), and V8's quote of the
 * text around the error is left out: a config file holds secrets.
 */
function jsonSyntaxError(text: string, err: Error): string {
  let lo = 0;
  let hi = text.length;
  // The shortest prefix that is broken inside ends with the offending character.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fineSoFar(text.slice(0, mid + 1))) lo = mid + 1;
    else hi = mid;
  }
  const pos = Math.min(lo, text.length);
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const column = pos - (before.lastIndexOf("\n") + 1) + 1;
  const what = err.message
    .replace(/ at position \d+[\s\S]*$/, "")
    .replace(/ in JSON$/, "")
    .replace(/, (?:\.\.\.)?"[\s\S]*" is not valid JSON$/, "")
    .replace(/[\r\n\t]/g, (c) => JSON.stringify(c).slice(1, -1));
  return `line ${line}, column ${column}: ${what}`;
}

const isSecret = (name: string): boolean => name === "adminToken" || name === "secretKey" || name === "keys";

/** Resolves the configuration; throws ConfigError naming the field and its source. */
export function resolveGatewayConfig(flags: GatewayFlags = {}, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const file = flags.config === undefined ? {} : readConfigFile(flags.config);
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(FIELDS) as [keyof GatewayConfig, Field][]) {
    let raw: unknown;
    let source: string | undefined;
    const flagValue = f.flag === undefined ? undefined : flags[FLAG_KEYS[f.flag]!];
    const envValue = f.env === undefined ? undefined : env[f.env];
    if (flagValue !== undefined) [raw, source] = [flagValue, `flag ${f.flag}`];
    else if (envValue !== undefined && envValue.trim() !== "") [raw, source] = [envValue, `env ${f.env}`];
    else if (f.file !== undefined && file[f.file] !== undefined && file[f.file] !== null) [raw, source] = [file[f.file], `config file ${flags.config} (${f.file})`];
    if (source === undefined) {
      out[name] = f.fallback;
      continue;
    }
    const parsed = f.schema.safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues[0]?.message ?? "is invalid";
      // Never echo a secret back in the error.
      const text = isSecret(name) ? message.replace(/, got .*/, "") : message;
      throw new ConfigError(name, `${text} (from ${source})`);
    }
    out[name] = parsed.data;
  }
  return out as unknown as GatewayConfig;
}

/** Loopback addresses: the only ones the gateway listens on without tokens. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(?:\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}
