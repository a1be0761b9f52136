/**
 * The pool: one instance's view of the credentials, selection, and the
 * bookkeeping of every answer. I/O goes through the store (state) and the
 * transport (requests); the decisions are the pure functions beside this file.
 */
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { NotFoundError } from "../errors/index.ts";
import type { Dispatchers } from "../transport/dispatchers.ts";
import type { CredentialPatch, EventQuery, Store, UsageQuery, UsageRow } from "../store/types.ts";
import { makeEvent } from "./audit.ts";
import { credentialId, newCredentialRecord } from "./credential-record.ts";
import { parseCredentialInput } from "./credential-input.ts";
import { planCooldownOver, planManual, type Plan } from "./plan.ts";
import type { PoolPolicy } from "./policy.ts";
import { type PriceTable } from "./prices.ts";
import type { RetryLimits } from "./retry-policy.ts";
import { CandidateIndex } from "./selection/candidate-index.ts";
import { type KeyEntry } from "./selection/key-entry.ts";
import type { StrategyName } from "./selection/strategies.ts";
import { SharedSequence } from "./shared-sequence.ts";
import { StateWriter } from "./state-writer.ts";
import { StatsBuffer } from "./stats-buffer.ts";
import { attachSync } from "./sync.ts";
import type { AuditEvent, CredentialInput, CredentialRecord, CredentialView, TokenUsage, UsageRecord } from "./types.ts";
import { UsageWriter } from "./usage-writer.ts";
import { toView } from "./view.ts";
import { Waiter } from "./waiter.ts";
import { LeaseDesk, type AcquireRequest, type AttemptReport, type Lease } from "./lease-desk.ts";

export type { AcquireRequest, AttemptReport, Lease } from "./lease-desk.ts";
import type { HealthChecker, ProbeResult, RoundOptions } from "./health/checker.ts";

export interface PoolConfig {
  upstream: string;
  strategy: StrategyName;
  policy: PoolPolicy;
  retry: RetryLimits;
  deadlineMs: number;
  maxWaitMs: number;
  timeouts: { connectMs: number; headersMs: number; bodyMs: number };
  prices: PriceTable;
  instance: string;
  rng: () => number;
}

export interface AddResult {
  added: CredentialView[];
  duplicates: CredentialView[];
}

export interface PoolEvents {
  /** Every audit event this instance wrote (state changes, adds, removals). */
  event: [AuditEvent];
  /** State changes only. */
  state: [AuditEvent];
  error: [unknown];
}

export class Pool extends EventEmitter<PoolEvents> {
  readonly store: Store;
  readonly config: PoolConfig;
  readonly index: CandidateIndex;
  readonly #writer: StateWriter;
  readonly #stats: StatsBuffer;
  readonly #usage: UsageWriter;
  readonly #waiter = new Waiter();
  readonly #desk: LeaseDesk;
  readonly #salt: string;
  #unsubscribe: () => void = () => {};
  #ticker: NodeJS.Timeout | undefined;
  #closed = false;
  #health: HealthChecker | null = null;
  readonly #closers: (() => Promise<void> | void)[] = [];
  /** The HTTP transport createPool wired in (the gateway sends through it too). */
  dispatchers: Dispatchers | null = null;

  /**
   * A drop-in `fetch`: `new OpenAI({ apiKey: "pooled", fetch: pool.fetch })`.
   * Set by createPool; a bare Pool has none.
   */
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response> = () => {
    throw new Error("this pool has no transport: create it with createPool()");
  };

  private constructor(store: Store, config: PoolConfig, salt: string) {
    super();
    this.store = store;
    this.config = config;
    this.#salt = salt;
    const sequence = new SharedSequence(store.counters);
    this.index = new CandidateIndex({
      strategy: config.strategy,
      deps: { rng: config.rng, nextTurn: () => sequence.next(), now: Date.now },
      onWake: (e) => this.#onWake(e),
    });
    this.#writer = new StateWriter(store, config.instance, {
      applied: (r) => this.#applyLocal(r),
      removed: (id) => this.#dropLocal(id),
      event: (ev) => {
        this.emit("event", ev);
        if (ev.kind === "state") this.emit("state", ev);
      },
      error: (err) => this.#error(err),
    });
    this.#stats = new StatsBuffer(store, 2000, (batch) => {
      for (const d of batch) {
        const r = this.index.entries.get(d.id)?.record;
        if (r === undefined) continue;
        r.requests += d.requests;
        r.failures += d.failures;
        r.spentUsd += d.spentUsd;
        if (d.lastUsedAt !== null && (r.lastUsedAt === null || d.lastUsedAt > r.lastUsedAt)) r.lastUsedAt = d.lastUsedAt;
      }
    });
    this.#usage = new UsageWriter(store);
    this.#desk = new LeaseDesk({ config, index: this.index, writer: this.#writer, stats: this.#stats, waiter: this.#waiter, closed: () => this.#closed });
  }

  /** Loads the store's credentials and follows its changes. */
  static async open(store: Store, config: PoolConfig): Promise<Pool> {
    let salt = await store.meta.get("fingerprint-salt");
    if (salt === null) {
      await store.meta.set("fingerprint-salt", randomBytes(16).toString("hex"));
      salt = (await store.meta.get("fingerprint-salt"))!;
    }
    const pool = new Pool(store, config, salt);
    for (const r of await store.credentials.list()) pool.index.upsert(r);
    pool.#unsubscribe = attachSync(store, {
      current: (id) => pool.index.entries.get(id)?.record,
      ids: () => pool.index.entries.keys(),
      apply: (r) => pool.#applyLocal(r),
      drop: (id) => pool.#dropLocal(id),
      error: (err) => pool.#error(err),
    });
    pool.#ticker = setInterval(() => pool.index.tick(), 1000).unref();
    return pool;
  }

  // ---- credentials -------------------------------------------------------

  /** Adds one or many credentials; the same key twice is one credential, reported as a duplicate. */
  async add(input: string | CredentialInput | ReadonlyArray<string | CredentialInput>): Promise<AddResult> {
    const list = Array.isArray(input) ? input : [input as string | CredentialInput];
    const now = Date.now();
    const byId = new Map<string, CredentialRecord>();
    const repeated: string[] = [];
    for (const item of list) {
      const rec = newCredentialRecord(parseCredentialInput(item), this.#salt, now);
      if (byId.has(rec.id)) repeated.push(rec.id);
      else byId.set(rec.id, rec);
    }
    const items = [...byId.values()].map((record) => ({ record, event: makeEvent(record, { kind: "added", to: record.state, reason: "added" }, this.config.instance, now) }));
    const { added, duplicates } = await this.store.credentials.insertMany(items);
    const addedSet = new Set(added);
    for (const { record, event } of items) {
      if (!addedSet.has(record.id)) continue;
      this.#applyLocal(record);
      this.emit("event", event);
    }
    const view = (id: string): CredentialView => toView(this.index.entries.get(id)?.record ?? byId.get(id)!);
    return { added: added.map(view), duplicates: [...duplicates, ...repeated].map(view) };
  }

  /** Removes credentials by id (or by their key); returns the ids removed. */
  async remove(ids: string | readonly string[], reason = "removed by hand"): Promise<string[]> {
    const list = (typeof ids === "string" ? [ids] : ids).map((id) => this.#resolveId(id));
    const now = Date.now();
    const items = list.map((id) => {
      const r = this.index.entries.get(id)?.record;
      return { id, event: makeEvent({ id, fingerprint: r?.fingerprint ?? "" }, { kind: "removed", from: r?.state ?? null, reason }, this.config.instance, now) };
    });
    const removed = await this.store.credentials.removeMany(items);
    const removedSet = new Set(removed);
    for (const item of items) {
      if (!removedSet.has(item.id)) continue;
      this.#dropLocal(item.id);
      this.emit("event", item.event);
    }
    return removed;
  }

  list(filter: { state?: CredentialRecord["state"] } = {}): CredentialView[] {
    const out: CredentialView[] = [];
    for (const e of this.index.entries.values()) {
      if (filter.state !== undefined && e.record.state !== filter.state) continue;
      out.push(this.#view(e));
    }
    // Stable: keys added together keep the order they were loaded or added in.
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  get(id: string): CredentialView | null {
    const e = this.index.entries.get(this.#resolveId(id));
    return e === undefined ? null : this.#view(e);
  }

  /** The full record, secret included: for transports and backends, never for display. */
  record(id: string): CredentialRecord | undefined {
    return this.index.entries.get(id)?.record;
  }

  async enable(id: string, note?: string): Promise<CredentialView> {
    return this.#manual(id, "enable", note);
  }

  async disable(id: string, note?: string): Promise<CredentialView> {
    return this.#manual(id, "disable", note);
  }

  /** Changes settings (label, weight, models, limits...) or backend data (a rotated session token). */
  async update(id: string, patch: CredentialPatch, reason = "updated"): Promise<CredentialView> {
    const rec = this.#mustGet(id);
    const next = await this.store.credentials.update(rec.id, patch, { event: makeEvent(rec, { kind: "updated", reason }, this.config.instance) });
    if (next === null) throw new NotFoundError("credential", id);
    this.#applyLocal(next);
    return toView(next);
  }

  events(query?: EventQuery): Promise<AuditEvent[]> {
    return this.store.events.query(query);
  }

  usage(query?: UsageQuery): Promise<UsageRow[]> {
    return this.store.usage.query(query);
  }

  /** Applies a plan decided elsewhere (the health checker, a backend). */
  apply(record: CredentialRecord, plan: Plan): Promise<void> {
    return this.#writer.apply(record, plan);
  }

  // ---- the request path ----------------------------------------------------

  /**
   * Checks out a credential for one attempt, waiting (bounded) while every
   * eligible key cools. Null when every eligible key was already tried.
   */
  acquire(req: AcquireRequest): Promise<Lease | null> {
    return this.#desk.acquire(req);
  }

  /** Hands a credential back with what happened; returns the plan taken, if any. */
  release(lease: Lease, report: AttemptReport): Plan | null {
    return this.#desk.release(lease, report);
  }

  /**
   * Spends usage learned after an attempt ended (counted locally for an answer that carried
   * none) against the credential's budget and TPM limit; the plan taken, if any.
   */
  charge(id: string, model: string, usage: TokenUsage): Plan | null {
    return this.#desk.charge(id, model, usage);
  }

  /** Records metered usage; when the store is down it is kept and retried (never counted twice). */
  recordUsage(records: readonly UsageRecord[]): Promise<{ queued: boolean }> {
    return this.#usage.write(records);
  }

  /** Writes waiting for the store (state changes, usage): what the figures of a store outage show. */
  get backlog(): { stateWrites: number; usageRecords: number; dropped: number } {
    return { stateWrites: this.#writer.queued, usageRecords: this.#usage.queued, dropped: this.#writer.dropped + this.#usage.dropped };
  }

  /** Probes one credential (any state), or every key that is not retired or disabled. */
  async probe(id?: string | RoundOptions, opts: RoundOptions = {}): Promise<ProbeResult[]> {
    if (this.#health === null) throw new Error("this pool has no health checker: create it with createPool()");
    if (typeof id === "string") return this.#health.run({ ...opts, ids: [this.#mustGet(id).id] });
    return this.#health.run(id ?? opts);
  }

  /** Wiring done by createPool: the health checker and what to close with the pool. */
  attach(parts: { health?: HealthChecker; dispatchers?: Dispatchers; onClose?: () => Promise<void> | void }): void {
    if (parts.health !== undefined) this.#health = parts.health;
    if (parts.dispatchers !== undefined) this.dispatchers = parts.dispatchers;
    if (parts.onClose !== undefined) this.#closers.push(parts.onClose);
  }

  get health(): HealthChecker | null {
    return this.#health;
  }

  /** The base URL a credential's requests go to. */
  upstreamOf(record: CredentialRecord): string {
    return record.baseURL ?? this.config.upstream;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ticker);
    this.#unsubscribe();
    this.#waiter.notify();
    await this.#writer.flush().catch(() => {});
    await this.#usage.flush();
    this.#health?.stop();
    this.#writer.close();
    this.#usage.close();
    await this.#stats.close();
    for (const close of this.#closers) await close();
  }

  // ---- internals -------------------------------------------------------------

  #applyLocal(r: CredentialRecord): void {
    if (this.#closed) return;
    this.index.upsert(r);
    this.#waiter.notify();
  }

  #dropLocal(id: string): void {
    this.index.remove(id);
    this.#desk.forget(id);
  }

  #onWake(e: KeyEntry): void {
    this.#waiter.notify();
    const plan = planCooldownOver(e.record, Date.now());
    if (plan !== null) void this.#writer.apply(e.record, plan);
  }

  #view(e: KeyEntry): CredentialView {
    const v = toView(e.record);
    const p = this.#stats.pending(e.id);
    if (p !== undefined) {
      v.requests += p.requests;
      v.failures += p.failures;
      v.spentUsd += p.spentUsd;
      if (p.lastUsedAt !== null && (v.lastUsedAt === null || p.lastUsedAt > v.lastUsedAt)) v.lastUsedAt = p.lastUsedAt;
    }
    return v;
  }

  /** Accepts an id or the key itself. */
  #resolveId(idOrKey: string): string {
    return this.index.entries.has(idOrKey) || idOrKey.startsWith("key_") ? idOrKey : credentialId(idOrKey);
  }

  #mustGet(id: string): CredentialRecord {
    const r = this.index.entries.get(this.#resolveId(id))?.record;
    if (r === undefined) throw new NotFoundError("credential", id);
    return r;
  }

  async #manual(id: string, action: "enable" | "disable", note?: string): Promise<CredentialView> {
    const rec = this.#mustGet(id);
    const plan = planManual(rec, action, Date.now(), note);
    if (plan !== null) {
      if (action === "enable") this.#desk.clearFailures(rec.id);
      await this.#writer.apply(rec, plan);
    }
    return this.#view(this.index.entries.get(rec.id)!);
  }

  #error(err: unknown): void {
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }
}
