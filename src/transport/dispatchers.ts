/**
 * undici dispatchers, one per egress route and shared by every request on it:
 * direct, the environment's proxy (`HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`), or
 * a credential's own proxy URL.
 */
import { Agent, EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from "undici";

export interface DispatcherOptions {
  connectMs: number;
  /** Connections per upstream origin (default 256). */
  connections?: number;
}

export class Dispatchers {
  readonly #opts: DispatcherOptions;
  readonly #byProxy = new Map<string, Dispatcher>();
  #default: Dispatcher | undefined;

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
  }

  /** The dispatcher for a credential's proxy (null: the environment's, or direct). */
  for(proxy: string | null): Dispatcher {
    if (proxy === null) return (this.#default ??= this.#fromEnv());
    let d = this.#byProxy.get(proxy);
    if (d === undefined) {
      d = new ProxyAgent({ uri: proxy, connections: this.#opts.connections ?? 256, connect: { timeout: this.#opts.connectMs } });
      this.#byProxy.set(proxy, d);
    }
    return d;
  }

  #fromEnv(): Dispatcher {
    const env = process.env;
    const hasProxy = [env.HTTPS_PROXY, env.https_proxy, env.HTTP_PROXY, env.http_proxy].some((v) => v !== undefined && v !== "");
    const common = { connections: this.#opts.connections ?? 256, connect: { timeout: this.#opts.connectMs }, keepAliveTimeout: 30_000 };
    return hasProxy ? new EnvHttpProxyAgent(common) : new Agent(common);
  }

  async close(): Promise<void> {
    const all = [...this.#byProxy.values(), ...(this.#default === undefined ? [] : [this.#default])];
    this.#byProxy.clear();
    this.#default = undefined;
    await Promise.all(all.map((d) => d.close().catch(() => {})));
  }
}
