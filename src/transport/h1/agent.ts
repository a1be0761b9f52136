/**
 * keypool's HTTP/1.1 client for upstream calls: one OriginPool per origin,
 * and one timer that closes connections idle past their keep-alive. It does
 * what the pooled request needs and no more (no redirects, no decompression,
 * no proxies: a credential behind a proxy goes through undici), which is why
 * it costs about half of undici's `request()` per call (README, Benchmarks).
 */
import type { ConnectionOptions } from "node:tls";
import type { ExchangeOptions, H1Answer } from "./connection.ts";
import { H1Error } from "./errors.ts";
import { OriginPool, type OriginOptions } from "./origin-pool.ts";

export interface H1AgentOptions {
  /** Most connections open per origin (default 256). */
  connections?: number;
  connectMs: number;
  /** Idle time before a connection is closed when the server gives no hint (default 30 s). */
  keepAliveMs?: number;
  tls?: ConnectionOptions;
}

const SWEEP_MS = 1000;

export class H1Agent {
  readonly #opts: OriginOptions;
  readonly #origins = new Map<string, OriginPool>();
  #sweeper: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: H1AgentOptions) {
    this.#opts = { connections: opts.connections ?? 256, connectMs: opts.connectMs, keepAliveMs: opts.keepAliveMs ?? 30_000, ...(opts.tls === undefined ? {} : { tls: opts.tls }) };
  }

  /** One request to `origin` (`https://host:port`) at `path`; resolves at the answer's head. */
  request(origin: string, path: string, o: ExchangeOptions): Promise<H1Answer> {
    let pool = this.#origins.get(origin);
    if (pool === undefined) {
      if (this.#closed) return Promise.reject(new H1Error("KP_H1_AGENT_CLOSED", "the upstream client is closed"));
      try {
        pool = new OriginPool(origin, this.#opts);
      } catch (err) {
        return Promise.reject(err);
      }
      this.#origins.set(origin, pool);
      this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS).unref();
    }
    return pool.request(path, o);
  }

  /** Connections open to `origin` (busy and idle), and of them idle. */
  stats(origin: string): { open: number; idle: number } {
    const pool = this.#origins.get(origin);
    return { open: pool?.open ?? 0, idle: pool?.idle ?? 0 };
  }

  /** Closes idle connections now; requests in flight finish, then their connections close. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    for (const pool of this.#origins.values()) pool.close();
  }

  #sweep(): void {
    const now = Date.now();
    for (const pool of this.#origins.values()) pool.sweep(now);
  }
}
