/**
 * The web sessions of one pool: a queue per account (the backend takes one
 * message at a time per account), and their access tokens — cached in the
 * credential's meta (so a restart reuses them), refreshed from
 * `/api/auth/session`, with a rotated session token saved back at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { NotFoundError } from "../../../errors/index.ts";
import { classify, type Outcome } from "../../../pool/outcome.ts";
import type { Pool } from "../../../pool/pool.ts";
import type { CredentialRecord } from "../../../pool/types.ts";
import { headerGetter, readBounded, send, TransportFailureError, type UpstreamAnswer } from "../../../transport/send.ts";
import type { CredentialPatch } from "../../../store/types.ts";
import { KeyedQueue } from "../../keyed-queue.ts";
import { cachedAccessToken, META, readSessionAnswer, rotatedToken, webHeaders, type SessionAnswer } from "./web-auth.ts";

export interface WebAccountsOptions {
  /** Where sessions without their own baseURL go (default https://chatgpt.com). */
  baseURL: string;
}

export interface WebRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  signal: AbortSignal;
}

/** Per pool, whatever the base URL: an account is one account. */
interface SharedState {
  /** One message at a time per account; refreshes and probes queue here too. */
  queue: KeyedQueue;
  /** Rotated tokens the store did not take yet: the process keeps using them and saves them again. */
  unsaved: Map<string, string>;
}

export class WebAccounts {
  readonly pool: Pool;
  readonly baseURL: string;
  readonly queue: KeyedQueue;
  readonly #unsaved: Map<string, string>;

  constructor(pool: Pool, options: WebAccountsOptions, shared: SharedState = { queue: new KeyedQueue(), unsaved: new Map() }) {
    this.pool = pool;
    this.baseURL = options.baseURL.replace(/\/+$/, "");
    this.queue = shared.queue;
    this.#unsaved = shared.unsaved;
  }

  /** The credential as it is now (a rotated token included). */
  record(id: string): CredentialRecord {
    const rec = this.pool.record(id);
    if (rec === undefined) throw new NotFoundError("credential", id);
    const unsaved = this.#unsaved.get(id);
    return unsaved === undefined ? rec : { ...rec, secret: unsaved };
  }

  base(rec: CredentialRecord): string {
    return (rec.baseURL ?? this.baseURL).replace(/\/+$/, "");
  }

  /** One exchange with the account's web backend, its cookies and User-Agent set. */
  send(rec: CredentialRecord, req: WebRequest): Promise<UpstreamAnswer> {
    const dispatchers = this.pool.dispatchers;
    if (dispatchers === null) throw new Error("the web chat backend needs a pool made by createPool() (it has no transport)");
    const t = this.pool.config.timeouts;
    return send(`${this.base(rec)}${req.path}`, {
      method: req.method,
      headers: webHeaders(rec, req.headers),
      body: req.body,
      signal: req.signal,
      dispatcher: dispatchers.for(rec.proxy),
      headersTimeoutMs: t.headersMs,
      bodyTimeoutMs: t.bodyMs,
    });
  }

  /** The access token: the cached one while it is good, else a fresh one. Call inside the account's queue. */
  async accessToken(id: string, signal: AbortSignal, force = false): Promise<{ token: string } | { outcome: Outcome }> {
    if (!force) {
      const cached = cachedAccessToken(this.record(id), Date.now());
      if (cached !== null) return { token: cached };
    }
    const answer = await this.refresh(id, signal);
    return answer.accessToken === null ? { outcome: answer.outcome } : { token: answer.accessToken };
  }

  /** Asks `/api/auth/session` and saves what it gave (a rotated session token first of all). Call inside the account's queue. */
  async refresh(id: string, signal: AbortSignal): Promise<SessionAnswer> {
    const rec = this.record(id);
    let answer: UpstreamAnswer;
    try {
      answer = await this.send(rec, { method: "GET", path: "/api/auth/session", headers: { accept: "application/json" }, body: null, signal });
    } catch (err) {
      if (err instanceof TransportFailureError) return { outcome: classify({ transport: err.failure }), accessToken: null, expires: null };
      throw err;
    }
    const text = (await readBounded(answer.body, 1_048_576)).toString("utf8");
    const now = Date.now();
    const result = readSessionAnswer(answer.status, { get: headerGetter(answer.headers) }, text, now);
    const rotated = rotatedToken(answer.headers["set-cookie"]);
    const patch: CredentialPatch = {};
    if (rotated !== null && rotated !== rec.secret) {
      patch.secret = rotated;
      this.#unsaved.set(id, rotated);
    }
    if (result.accessToken !== null) {
      patch.meta = { ...rec.meta, [META.accessToken]: result.accessToken, [META.accessTokenExpires]: String(result.expires), [META.accessTokenIssued]: String(now) };
    }
    if (patch.secret !== undefined || patch.meta !== undefined) await this.#save(id, patch);
    return result;
  }

  /** Writes to the store with a few retries: losing a rotated session token loses the account. */
  async #save(id: string, patch: CredentialPatch): Promise<void> {
    const reason = patch.secret !== undefined ? "session token rotated" : "access token refreshed";
    for (let attempt = 0; ; attempt++) {
      try {
        // The unsaved secret wins over the stored (older) one when the meta is merged again.
        const unsaved = this.#unsaved.get(id);
        await this.pool.update(id, unsaved === undefined ? patch : { ...patch, secret: unsaved }, reason);
        this.#unsaved.delete(id);
        return;
      } catch (err) {
        if (attempt >= 2 || err instanceof NotFoundError) {
          if (this.pool.listenerCount("error") > 0) this.pool.emit("error", err);
          return; // kept in #unsaved: used by this process and saved with the next refresh
        }
        await sleep(200 * 2 ** attempt);
      }
    }
  }
}

const byPool = new WeakMap<Pool, { shared: SharedState; byBase: Map<string, WebAccounts> }>();

/** The pool's web accounts for a default base URL; every instance on one pool shares the queues. */
export function webAccounts(pool: Pool, options: WebAccountsOptions): WebAccounts {
  let entry = byPool.get(pool);
  if (entry === undefined) byPool.set(pool, (entry = { shared: { queue: new KeyedQueue(), unsaved: new Map() }, byBase: new Map() }));
  const base = options.baseURL.replace(/\/+$/, "");
  let a = entry.byBase.get(base);
  if (a === undefined) entry.byBase.set(base, (a = new WebAccounts(pool, { baseURL: base }, entry.shared)));
  return a;
}
