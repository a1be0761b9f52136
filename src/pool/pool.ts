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
import { NoCredentialError } from "./errors.ts";
import { FailureWindow } from "./failure-window.ts";
import { availableAt, isUsable } from "./eligibility.ts";
import { isAmbiguous, type Outcome } from "./outcome.ts";
import { planCooldownOver, planForOutcome, planManual, planBudget, type Plan } from "./plan.ts";
import type { PoolPolicy } from "./policy.ts";
import { costUsd, type PriceTable } from "./prices.ts";
import { parseRateLimit, type HeaderGetter } from "./ratelimit-headers.ts";
import { RateWindow } from "./rate-window.ts";
import type { RetryLimits } from "./retry-policy.ts";
import { CandidateIndex } from "./selection/candidate-index.ts";
import { holdUntil, type KeyEntry } from "./selection/key-entry.ts";
import type { NoCandidate } from "./selection/candidate-index.ts";
import type { StrategyName } from "./selection/strategies.ts";
import { SharedSequence } from "./shared-sequence.ts";
import { StateWriter } from "./state-writer.ts";
import { StatsBuffer } from "./stats-buffer.ts";
import { attachSync } from "./sync.ts";
import type { AuditEvent, CredentialInput, CredentialKind, CredentialRecord, CredentialView, UsageRecord } from "./types.ts";
import { UsageWriter } from "./usage-writer.ts";
import { toView } from "./view.ts";
import { Waiter } from "./waiter.ts";
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

/** A credential checked out for one attempt; hand it back with `release`. */
export interface Lease {
  readonly entry: KeyEntry;
  readonly record: CredentialRecord;
  readonly model: string | null;
  released: boolean;
}

export interface AttemptReport {
  outcome: Outcome;
  /** The caller gave up: nothing is learnt about the key. */
  aborted?: boolean;
  headers?: HeaderGetter;
  usage?: { promptTokens: number; completionTokens: number } | null;
}

export interface AcquireRequest {
  model: string | null;
  /** Keys this request already tried after ambiguous faults. */
  exclude: ReadonlySet<string> | null;
  signal?: AbortSignal | null;
  /** Absolute time (ms) after which waiting is pointless. */
  deadline: number;
  /** API keys (default) or web sessions. */
  kind?: CredentialKind;
  /** Only this credential (a conversation that must stay on its account). */
  only?: string;
}

export interface AddResult {
  added: CredentialView[];
  duplicates: CredentialView[];
}

interface Runtime {
  failures: FailureWindow;
  rpm: RateWindow | null;
  tpm: RateWindow | null;
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
  readonly #runtime = new Map<string, Runtime>();
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
    this.#stats = new StatsBuffer(store);
    this.#usage = new UsageWriter(store);
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
  async acquire(req: AcquireRequest): Promise<Lease | null> {
    const waitLimit = Math.min(req.deadline, Date.now() + this.config.maxWaitMs);
    const kind = req.kind ?? "api";
    for (;;) {
      if (this.#closed) throw new NoCredentialError({ reason: "empty" });
      const now = Date.now();
      const e = req.only === undefined ? this.index.pick(req.model, req.exclude, now, kind) : this.#only(req.only, req.model, now);
      if (e !== undefined) return this.#lease(e, req.model);
      if (req.only === undefined && req.exclude !== null && req.exclude.size > 0 && this.index.size(req.model, kind) > 0) return null;
      const why = req.only === undefined ? this.index.explain(req.model, now, kind) : this.#explainOnly(req.only, req.model, now);
      const until = why.reason === "cooling" ? why.until : why.reason === "busy" ? now + 250 : Infinity;
      if (until > waitLimit) throw new NoCredentialError(why, now);
      await this.#waiter.wait(until - now, req.signal);
    }
  }

  /** Records metered usage; when the store is down it is kept and retried (never counted twice). */
  recordUsage(records: readonly UsageRecord[]): Promise<{ queued: boolean }> {
    return this.#usage.write(records);
  }

  /** Writes waiting for the store (state changes, usage): what the figures of a store outage show. */
  get backlog(): { stateWrites: number; usageRecords: number; dropped: number } {
    return { stateWrites: this.#writer.queued, usageRecords: this.#usage.queued, dropped: this.#writer.dropped + this.#usage.dropped };
  }

  /** Hands a credential back with what happened; returns the plan taken, if any. */
  release(lease: Lease, report: AttemptReport): Plan | null {
    if (lease.released) return null;
    lease.released = true;
    const e = lease.entry;
    const now = Date.now();
    const { outcome } = report;
    if (report.headers !== undefined) {
      const info = parseRateLimit(report.headers);
      if (info !== null) e.headroom.set(lease.model ?? "", { info, at: now, inFlightAt: e.inFlight - 1 });
    }
    this.index.finished(e);
    this.#waiter.notify();
    if (report.aborted === true) {
      this.#stats.add(e.id, 1, 0, 0, now);
      return null;
    }

    const rt = this.#rt(e.record);
    const ambiguousCount = isAmbiguous(outcome.kind) ? rt.failures.record(now) : 0;
    let spent = 0;
    if (report.usage != null && lease.model !== null) {
      spent = costUsd(lease.model, report.usage.promptTokens, report.usage.completionTokens, this.config.prices);
      if (rt.tpm !== null && e.record.tpm !== null) {
        rt.tpm.add(now, report.usage.promptTokens + report.usage.completionTokens);
        if (rt.tpm.total(now) >= e.record.tpm) this.index.hold(e, "*", rt.tpm.freeAt(now, e.record.tpm - 1));
      }
    }
    const failed = outcome.kind !== "success";
    this.#stats.add(e.id, 1, failed ? 1 : 0, spent, now);

    const rec = e.record;
    let plan: Plan | null = null;
    if (this.index.entries.has(e.id)) {
      const ejected = ambiguousCount >= this.config.policy.ambiguousThreshold ? this.#ejectedShare(now) : { now: 0, after: 0 };
      plan = planForOutcome(rec, outcome, { model: lease.model, now, policy: this.config.policy, ambiguousCount, ejectedPercent: ejected.now, ejectedPercentAfter: ejected.after });
      if (plan === null && spent > 0) plan = planBudget(rec, rec.spentUsd + (this.#stats.pending(e.id)?.spentUsd ?? 0), now);
      if (plan !== null) {
        if (plan.event === "state") rt.failures.clear();
        void this.#writer.apply(rec, plan, now);
      }
    }
    return plan;
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

  #lease(e: KeyEntry, model: string | null): Lease {
    this.index.started(e, model);
    const rt = this.#rt(e.record);
    if (rt.rpm !== null && e.record.rpm !== null) {
      const now = Date.now();
      rt.rpm.add(now, 1);
      if (rt.rpm.total(now) >= e.record.rpm) this.index.hold(e, "*", rt.rpm.freeAt(now, e.record.rpm - 1));
    }
    return { entry: e, record: e.record, model, released: false };
  }

  #only(id: string, model: string | null, now: number): KeyEntry | undefined {
    const e = this.index.entries.get(id);
    if (e === undefined) throw new NotFoundError("credential", id);
    const r = e.record;
    if (!isUsable(r, model, now) || holdUntil(e, model) > now) return undefined;
    return r.maxInFlight !== null && e.inFlight >= r.maxInFlight ? undefined : e;
  }

  #explainOnly(id: string, model: string | null, now: number): NoCandidate {
    const e = this.index.entries.get(id);
    if (e === undefined) return { reason: "empty" };
    const r = e.record;
    if (r.state !== "active" && r.state !== "cooling") return { reason: "unusable", states: { [r.state]: 1 } };
    const at = Math.max(availableAt(r, model), holdUntil(e, model));
    if (at > now) return { reason: "cooling", until: at };
    if (model !== null && !isUsable(r, model, now)) return { reason: "model_not_served", model };
    return { reason: "busy" };
  }

  #rt(r: CredentialRecord): Runtime {
    let rt = this.#runtime.get(r.id);
    if (rt === undefined) {
      rt = { failures: new FailureWindow(this.config.policy.ambiguousWindowMs), rpm: null, tpm: null };
      this.#runtime.set(r.id, rt);
    }
    if (r.rpm !== null) rt.rpm ??= new RateWindow();
    if (r.tpm !== null) rt.tpm ??= new RateWindow();
    return rt;
  }

  /** Share of the pool out for ambiguous reasons now, and after one more ejection. O(n), only at the threshold. */
  #ejectedShare(now: number): { now: number; after: number } {
    let out = 0;
    let total = 0;
    for (const e of this.index.entries.values()) {
      const r = e.record;
      if (r.state === "retired" || r.state === "disabled") continue;
      total++;
      if (r.ejections > 0 && ((r.state === "cooling" && r.coolUntil > now) || r.state === "quarantined")) out++;
    }
    if (total === 0) return { now: 0, after: 100 };
    return { now: (out / total) * 100, after: ((out + 1) / total) * 100 };
  }

  #applyLocal(r: CredentialRecord): void {
    if (this.#closed) return;
    this.index.upsert(r);
    this.#waiter.notify();
  }

  #dropLocal(id: string): void {
    this.index.remove(id);
    this.#runtime.delete(id);
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
      if (action === "enable") this.#runtime.get(rec.id)?.failures.clear();
      await this.#writer.apply(rec, plan);
    }
    return this.#view(this.index.entries.get(rec.id)!);
  }

  #error(err: unknown): void {
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }
}
