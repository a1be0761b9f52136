/** The CLI's client for a running gateway's admin API (`--url` + the admin token). */
import { ConfigError, KeypoolError } from "../errors/index.ts";
import { readEnv } from "../config/env.ts";

export interface RemoteFlags {
  url?: string;
  adminToken?: string;
}

export class AdminClient {
  readonly #base: string;
  readonly #token: string;

  constructor(url: string, token: string) {
    if (!/^https?:\/\/./.test(url)) throw new ConfigError("--url", `must be the gateway's http(s) URL, got "${url}"`);
    this.#base = url.replace(/\/+$/, "");
    this.#token = token;
  }

  /** A client when `--url` is given (the admin token from the flag or KEYPOOL_ADMIN_TOKEN), else null. */
  static from(flags: RemoteFlags): AdminClient | null {
    if (flags.url === undefined) return null;
    const token = flags.adminToken ?? readEnv().adminToken;
    if (token === undefined) throw new ConfigError("--admin-token", "talking to a gateway (--url) needs its admin token: --admin-token or KEYPOOL_ADMIN_TOKEN");
    return new AdminClient(flags.url, token);
  }

  async #fetch(method: string, path: string, body?: unknown, accept = "application/json"): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, accept, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new KeypoolError("KP_GATEWAY_UNREACHABLE", `cannot reach the gateway at ${this.#base} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`, { cause: err });
    }
    if (!res.ok) {
      const text = await res.text();
      let message = `${res.status} ${res.statusText}`;
      let code = "KP_GATEWAY_ERROR";
      try {
        const e = (JSON.parse(text) as { error?: { message?: string; code?: string } }).error;
        if (e?.message !== undefined) message = e.message;
        if (e?.code !== undefined) code = e.code;
      } catch {
        // not JSON: keep the status line
      }
      throw new KeypoolError(code, `gateway: ${message}`, { status: res.status });
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.#fetch(method, path, body)).json()) as T;
  }

  /** Reads an NDJSON answer line by line. */
  async *lines<T>(method: string, path: string, body?: unknown): AsyncGenerator<T> {
    const res = await this.#fetch(method, path, body, "application/x-ndjson");
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== "") yield JSON.parse(line) as T;
      }
    }
    if (buf.trim() !== "") yield JSON.parse(buf) as T;
  }
}
