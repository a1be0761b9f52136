/**
 * Connections that fail fast. While Redis is away a command is rejected at
 * once (no offline queue, nothing resent later behind the caller's back) or
 * after `commandTimeoutMs` at most; the connection keeps reconnecting in the
 * background and serves again as soon as Redis is back.
 */
import { isIP } from "node:net";
import { Redis, type RedisOptions } from "ioredis";
import { ConfigError } from "../../errors/config-error.ts";
import { KeypoolError } from "../../errors/keypool-error.ts";
import { StoreError } from "../store-error.ts";

/** ioredis's options minus `replyMapping`, which this store pins to "legacy" (RESP2-shaped replies). */
type ConnectOptions = Omit<RedisOptions, "replyMapping">;

export interface Endpoint {
  options: ConnectOptions;
  /** `redis://host:port/db` without credentials, for messages. */
  where: string;
}

/** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
export function parseRedisUrl(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError("KEYPOOL_STORE", "not a redis URL: expected redis://HOST:PORT/DB");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ConfigError("KEYPOOL_STORE", `not a redis URL (${parsed.protocol}): expected redis://HOST:PORT/DB or rediss://`);
  }
  const dbText = parsed.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new ConfigError("KEYPOOL_STORE", `"${dbText}" is not a redis database number`);
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  const host = parsed.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
  const options: ConnectOptions = { host, port, db };
  if (parsed.username !== "") options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== "") options.password = decodeURIComponent(parsed.password);
  // SNI takes a host name only; for an IP address the certificate is checked against the IP.
  if (parsed.protocol === "rediss:") options.tls = isIP(host) === 0 ? { servername: host } : {};
  return { options, where: `${parsed.protocol}//${parsed.host}/${db}` };
}

/** Reconnect quickly at first, then every second: Redis being back soon matters more than load. */
const retryStrategy = (times: number): number => Math.min(25 * 2 ** Math.min(times, 10), 1000) + Math.floor(Math.random() * 50);

export interface LinkOptions {
  /** CLIENT SETNAME, so `CLIENT LIST` shows which keypool instance holds a connection. */
  name: string;
  commandTimeoutMs: number;
}

/** One ioredis connection plus what is needed to explain its failures. */
export class RedisLink {
  readonly redis: Redis;
  readonly where: string;
  #lastError: Error | null = null;
  #gate: (() => Promise<void> | null) | null = null;
  readonly #timeoutMs: number;

  constructor(endpoint: Endpoint, options: LinkOptions) {
    this.where = endpoint.where;
    this.#timeoutMs = options.commandTimeoutMs;
    const redisOptions: ConnectOptions & { replyMapping: "legacy" } = {
      ...endpoint.options,
      replyMapping: "legacy",
      // CLIENT SETNAME refuses spaces and odd characters; a bad name would fail every connect.
      connectionName: options.name.replace(/[^\w.:@-]/g, "_"),
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.commandTimeoutMs,
      // How long disconnect() waits for a socket to close before destroying it. ioredis arms this
      // timer even for a socket that never connected, and it keeps the process alive: keep it short.
      disconnectTimeout: 200,
      retryStrategy,
    };
    this.redis = new Redis(redisOptions);
    // Without a listener ioredis stays silent; keep the cause for the next StoreError.
    this.redis.on("error", (err: Error) => {
      this.#lastError = err;
    });
    this.redis.on("ready", () => {
      this.#lastError = null;
    });
  }

  get ready(): boolean {
    return this.redis.status === "ready";
  }

  /**
   * Connects, waiting at most `timeoutMs`. Never rejects: a store opened while
   * Redis is away works as soon as it comes back.
   */
  async start(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const connected = this.redis.connect().then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([connected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Something every operation waits for while it is pending (the change feed's first subscription). */
  setGate(gate: () => Promise<void> | null): void {
    this.#gate = gate;
  }

  /** Runs one store operation; any failure becomes a StoreError that says what and where. */
  async run<T>(what: string, op: (redis: Redis) => Promise<T>): Promise<T> {
    if (!this.ready) throw this.unreachable(what);
    const gate = this.#gate?.();
    if (gate) await gate;
    try {
      return await op(this.redis);
    } catch (err) {
      throw this.failure(what, err);
    }
  }

  failure(what: string, err: unknown): StoreError {
    if (KeypoolError.is(err)) return err instanceof StoreError ? err : new StoreError(`${what}: ${err.message}`, err);
    if (err instanceof Error && err.message === "Command timed out" && this.ready) {
      // A connection that stops answering (a frozen server, a silent network drop) is dropped
      // and dialled again, so the next calls fail at once instead of each waiting out the timeout.
      this.#lastError = new Error(`no answer within ${this.#timeoutMs} ms`);
      this.redis.disconnect(true);
      return new StoreError(`redis at ${this.where} did not answer within ${this.#timeoutMs} ms; ${what} may or may not have been done`, err);
    }
    // Sent, then the connection dropped: Redis may have run it before it went.
    if (!this.ready) return this.unreachable(what, err, "may or may not have been done");
    const message = err instanceof Error ? err.message : String(err);
    return new StoreError(`redis ${what} failed at ${this.where}: ${message}`, err);
  }

  unreachable(what: string, cause: unknown = this.#lastError, outcome = "not done"): StoreError {
    const why = this.#lastError?.message ?? this.redis.status;
    return new StoreError(`redis at ${this.where} is unreachable (${why}); ${what} ${outcome}`, cause ?? undefined);
  }

  /** Quits politely when connected, drops the socket otherwise; never hangs. */
  async close(): Promise<void> {
    if (this.redis.status === "end") return;
    if (this.ready) {
      let timer: NodeJS.Timeout | undefined;
      const quit = this.redis.quit().catch(() => undefined);
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1000);
      });
      await Promise.race([quit, late]);
      clearTimeout(timer);
    }
    this.redis.disconnect(false);
  }
}
