/**
 * Who may call `/v1/*`. A token is looked up by its sha256 hash, then the
 * hashes are compared in constant time. Lookups are cached briefly (a store
 * round trip per request would cost throughput): an entry older than
 * `refreshMs` is refreshed in the background, one older than `maxAgeMs` is
 * refreshed before use, so a revoke made on any instance holds within ~1 s.
 * A token's rpm is counted here per request, and each instance shares its
 * window of the token through the store every SHARE_MS while the token is in
 * use: the limit holds across instances within about a second.
 */
import { hash, randomUUID, timingSafeEqual } from "node:crypto";
import { KeypoolError } from "../../errors/index.ts";
import type { ClientToken, Store } from "../../store/types.ts";
import { AuthError, ForbiddenError, TokenLimitError } from "../errors.ts";
import { RateRing } from "./rate-ring.ts";

interface Entry {
  /** null: no such token (negative cache, so guessing costs no store trips). */
  token: ClientToken | null;
  /** The stored sha256 hex digest, as bytes. */
  hash: Buffer;
  at: number;
  refreshing: Promise<Entry> | null;
  /** This instance's requests of the token in the last minute (tokens with an rpm). */
  rate: RateRing | null;
  /** The other instances' requests of it, as they last shared them. */
  others: RateRing | null;
}

/** How often an instance shares the windows of the rpm-limited tokens it took requests for. */
export const SHARE_MS = 500;
/** The next share after the store refused one. */
const SHARE_RETRY_MS = 2000;

export interface ClientAuthOptions {
  /** The gateway listens on loopback only: with no token in the store, `/v1/*` is open. */
  loopbackOnly: boolean;
  refreshMs?: number;
  maxAgeMs?: number;
  /** Most cached lookups (unknown tokens included). */
  maxEntries?: number;
  now?: () => number;
}

/** The caller of one request: a token, or the open mode's anonymous local caller. */
export type Caller = Entry | null;

export class ClientAuth {
  readonly #store: Store;
  readonly #loopbackOnly: boolean;
  readonly #refreshMs: number;
  readonly #maxAgeMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Tokens the store knows (their rate windows live here). */
  readonly #cache = new Map<string, Entry>();
  /** Lookups that found no token, kept apart: a flood of wrong tokens evicts only these, never a real token's entry. */
  readonly #unknown = new Map<string, Entry>();
  /** Whether the store holds any token (revoked ones too); once true, it stays true. */
  #anyToken = false;
  #anyCheckedAt = -Infinity;
  #anyChecking: Promise<boolean> | null = null;
  /** This instance's name in the shared rate windows. */
  readonly #instance = randomUUID();
  /** Entries of rpm-limited tokens used in the last minute (here or, as last heard, elsewhere). */
  readonly #rated = new Set<Entry>();
  #shareTimer: NodeJS.Timeout | null = null;

  constructor(store: Store, opts: ClientAuthOptions) {
    this.#store = store;
    this.#loopbackOnly = opts.loopbackOnly;
    this.#refreshMs = opts.refreshMs ?? 500;
    this.#maxAgeMs = opts.maxAgeMs ?? 1000;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** True while `/v1/*` needs no token (loopback only and no token in the store). */
  async isOpen(): Promise<boolean> {
    if (!this.#loopbackOnly || this.#anyToken) return false;
    if (this.#now() - this.#anyCheckedAt > this.#maxAgeMs) await this.#checkAny();
    return !this.#anyToken;
  }

  /** Called when this process created a token: open mode ends at once. */
  tokenCreated(): void {
    this.#anyToken = true;
  }

  /** Forgets cached lookups (after a revoke through this instance). */
  invalidate(): void {
    this.#cache.clear();
    this.#unknown.clear();
  }

  /**
   * The caller of a request: null in open mode; otherwise its token entry,
   * or an AuthError (401) for a missing, unknown, expired or revoked token.
   */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    const raw = bearer(authorization);
    if (!this.#anyToken && (await this.isOpen())) return null;
    if (raw === null) throw new AuthError("KP_TOKEN_MISSING", "missing client token: send Authorization: Bearer <token> (create one with keypool tokens add --name NAME)");
    // The hex digest's characters, compared as bytes: a Hash object and a hex encoding less per request.
    const hex = hash("sha256", raw);
    const digest = Buffer.from(hex, "latin1");
    const now = this.#now();
    let entry = this.#cache.get(hex) ?? this.#unknown.get(hex);
    if (entry === undefined) entry = await this.#load(hex, digest);
    else if (now - entry.at > this.#maxAgeMs) entry = await this.#refreshOrKeep(entry, hex);
    else if (now - entry.at > this.#refreshMs) void this.#refresh(entry, hex).catch(() => {});
    const t = entry.token;
    if (t === null || !timingSafeEqual(entry.hash, digest)) throw new AuthError("KP_TOKEN_INVALID", "invalid client token");
    if (t.revokedAt !== null) throw new AuthError("KP_TOKEN_REVOKED", `client token ${t.id} (${t.name}) was revoked`);
    if (t.expiresAt !== null && t.expiresAt <= now) throw new AuthError("KP_TOKEN_EXPIRED", `client token ${t.id} (${t.name}) expired at ${new Date(t.expiresAt).toISOString()}`);
    return entry;
  }

  /** Rate, quota and model checks for one request; throws the 429/403 to answer. */
  admit(caller: Caller, model: string | null): void {
    if (caller === null) return;
    const t = caller.token!;
    if (model !== null && t.models !== null && !t.models.includes(model)) {
      throw new ForbiddenError("KP_MODEL_NOT_ALLOWED", `client token ${t.id} (${t.name}) may not use model ${model} (allowed: ${t.models.join(", ")})`, "model");
    }
    if (t.quotaTokens !== null && t.usedTokens >= t.quotaTokens) {
      throw new TokenLimitError("KP_TOKEN_QUOTA_EXCEEDED", `client token ${t.id} (${t.name}) has used ${t.usedTokens} of its quota of ${t.quotaTokens} tokens`);
    }
    if (t.rpm !== null) {
      caller.rate ??= new RateRing();
      const wait = caller.rate.take(t.rpm, this.#now(), caller.others);
      this.#willShare(caller);
      if (wait > 0) throw new TokenLimitError("KP_TOKEN_RATE_LIMITED", `client token ${t.id} (${t.name}) is over its limit of ${t.rpm} requests per minute; retry in ${wait}s`, wait);
    }
  }

  /** Whether the caller may see `model` (for `/v1/models` listings). */
  allows(caller: Caller, model: string): boolean {
    return caller === null || caller.token!.models === null || caller.token!.models.includes(model);
  }

  /**
   * Counts metered tokens against the caller's token at once, for this
   * instance's next admit. The stored count grows with the usage record
   * (UsageRepo.record charges its token): written once, queued with it while
   * the store is away, never counted twice on a replay.
   */
  charge(caller: Caller, tokens: number, at: number): void {
    if (caller === null || tokens <= 0) return;
    const t = caller.token!;
    t.usedTokens += tokens;
    t.lastUsedAt = at;
  }

  /** Stops sharing rate windows (the gateway is closing). */
  stop(): void {
    if (this.#shareTimer !== null) clearTimeout(this.#shareTimer);
    this.#shareTimer = null;
    this.#rated.clear();
  }

  #willShare(entry: Entry): void {
    this.#rated.add(entry);
    this.#shareTimer ??= setTimeout(() => void this.#share(), SHARE_MS).unref();
  }

  /**
   * Shares the windows of the rpm-limited tokens used this minute, and learns the other
   * instances' (kept as they were if the store is away). A token no instance used for a
   * minute drops out until its next request.
   */
  async #share(): Promise<void> {
    const now = this.#now();
    const work: Promise<boolean>[] = [];
    for (const e of this.#rated) {
      const own = e.rate!.window(now);
      if (own.length === 0 && (e.others?.count(now) ?? 0) === 0) this.#rated.delete(e);
      else work.push(this.#exchange(e, own));
    }
    const shared = await Promise.all(work);
    // A store that refused (away, or a SQLite file another process holds: each try may wait 100 ms) is tried less often.
    const next = shared.includes(false) ? SHARE_RETRY_MS : SHARE_MS;
    this.#shareTimer = this.#rated.size > 0 ? setTimeout(() => void this.#share(), next).unref() : null;
  }

  /** False when the store refused: the entry keeps the others' windows it had. */
  async #exchange(entry: Entry, window: number[]): Promise<boolean> {
    if (entry.token === null) return true;
    try {
      const now = this.#now();
      const windows = await this.#store.tokens.shareRate(entry.token.id, this.#instance, window, now);
      const others = new RateRing();
      for (const w of windows) others.add(w, now);
      entry.others = others;
      return true;
    } catch {
      return false;
    }
  }

  async #checkAny(): Promise<boolean> {
    this.#anyChecking ??= this.#store.tokens
      .list()
      .then((list) => {
        if (list.length > 0) this.#anyToken = true;
        this.#anyCheckedAt = this.#now();
        return this.#anyToken;
      })
      .finally(() => {
        this.#anyChecking = null;
      });
    return this.#anyChecking;
  }

  async #load(hex: string, digest: Buffer): Promise<Entry> {
    const token = await this.#store.tokens.findByHash(hex);
    if (token !== null) this.#anyToken = true;
    const entry: Entry = { token, hash: token === null ? digest : Buffer.from(token.hash, "latin1"), at: this.#now(), refreshing: null, rate: null, others: null };
    // A token with an rpm starts from what the other instances took of it this minute.
    if (token?.rpm != null) await this.#exchange(entry, []);
    this.#keep(hex, entry);
    return entry;
  }

  /** A refresh before use; while the store is away the token stays as last seen (a revoke made meanwhile holds once it is back). */
  async #refreshOrKeep(entry: Entry, hex: string): Promise<Entry> {
    try {
      return await this.#refresh(entry, hex);
    } catch (err) {
      if (KeypoolError.is(err) && err.code === "KP_STORE") return entry;
      throw err;
    }
  }

  /** Caches an entry with its kind (known or unknown token), each map bounded on its own. */
  #keep(hex: string, entry: Entry): void {
    const [into, from] = entry.token === null ? [this.#unknown, this.#cache] : [this.#cache, this.#unknown];
    from.delete(hex);
    if (!into.has(hex) && into.size >= this.#maxEntries) into.delete(into.keys().next().value!);
    into.set(hex, entry);
  }

  #refresh(entry: Entry, hex: string): Promise<Entry> {
    entry.refreshing ??= this.#store.tokens
      .findByHash(hex)
      .then((token) => {
        if (token === null) entry.token = null;
        else if (entry.token === null) {
          entry.token = token;
          entry.hash = Buffer.from(token.hash, "latin1");
        } else {
          // Keep local charges not yet seen in the store's total.
          token.usedTokens = Math.max(token.usedTokens, entry.token.usedTokens);
          entry.token = token;
        }
        entry.at = this.#now();
        if ((entry.token === null) !== this.#unknown.has(hex)) this.#keep(hex, entry);
        return entry;
      })
      .finally(() => {
        entry.refreshing = null;
      });
    return entry.refreshing;
  }
}

function bearer(header: string | undefined): string | null {
  if (header === undefined || header.length < 8) return null;
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== "bearer") return null;
  const v = header.slice(7).trim();
  return v === "" ? null : v;
}
