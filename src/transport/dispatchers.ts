/**
 * The clients upstream calls go through, one per egress route and shared by
 * every request on it: direct (keypool's HTTP/1.1 client, or undici's Agent
 * when asked for), the environment's proxy (`HTTPS_PROXY`/`HTTP_PROXY`/
 * `NO_PROXY`), or a credential's own proxy URL (both undici).
 */
import type { Dispatcher } from "undici";
import { H1Agent } from "./h1/agent.ts";
import { undici } from "./undici-lazy.ts";

export interface DispatcherOptions {
  connectMs: number;
  /** Connections per upstream origin (default 256). */
  connections?: number;
  /** The client for direct calls: keypool's own (default) or undici's. */
  client?: UpstreamClient;
}

export type UpstreamClient = "keypool" | "undici";
export type Route = Dispatcher | H1Agent;

/** How long an idle upstream connection is kept when the server gives no hint. */
const KEEP_ALIVE_MS = 30_000;

export class Dispatchers {
  readonly #opts: DispatcherOptions;
  readonly #byProxy = new Map<string, Dispatcher>();
  #default: Route | undefined;

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
  }

  /** The dispatcher for a credential's proxy (null: the environment's, or direct). */
  for(proxy: string | null): Route {
    if (proxy === null) return (this.#default ??= this.#fromEnv());
    let d = this.#byProxy.get(proxy);
    if (d === undefined) {
      d = new (undici().ProxyAgent)({ uri: proxy, connections: this.#opts.connections ?? 256, connect: { timeout: this.#opts.connectMs } });
      this.#byProxy.set(proxy, d);
    }
    return d;
  }

  #fromEnv(): Route {
    const env = process.env;
    const hasProxy = [env.HTTPS_PROXY, env.https_proxy, env.HTTP_PROXY, env.http_proxy].some((v) => v !== undefined && v !== "");
    const connections = this.#opts.connections ?? 256;
    const common = { connections, connect: { timeout: this.#opts.connectMs }, keepAliveTimeout: KEEP_ALIVE_MS };
    if (hasProxy) return new (undici().EnvHttpProxyAgent)(common);
    return this.#opts.client === "undici" ? new (undici().Agent)(common) : new H1Agent({ connections, connectMs: this.#opts.connectMs, keepAliveMs: KEEP_ALIVE_MS });
  }

  async close(): Promise<void> {
    const all = [...this.#byProxy.values(), ...(this.#default === undefined ? [] : [this.#default])];
    this.#byProxy.clear();
    this.#default = undefined;
    await Promise.all(all.map((d) => d.close().catch(() => {})));
  }
}
