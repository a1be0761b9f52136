/**
 * The request path of one instance: checking credentials out for attempts
 * (waiting, bounded, while every eligible key cools) and back in with what
 * happened — headroom, sliding windows, known limits, budgets and the state
 * change each answer calls for.
 */
import { NotFoundError } from "../errors/index.ts";
import { availableAt, isUsable } from "./eligibility.ts";
import { NoCredentialError } from "./errors.ts";
import { FailureWindow } from "./failure-window.ts";
import { isAmbiguous, type Outcome } from "./outcome.ts";
import { planBudget, planForOutcome, type Plan } from "./plan.ts";
import type { PoolConfig } from "./pool.ts";
import { costUsd } from "./prices.ts";
import { parseRateLimit, type HeaderGetter } from "./ratelimit-headers.ts";
import { RateWindow } from "./rate-window.ts";
import type { CandidateIndex, NoCandidate } from "./selection/candidate-index.ts";
import { holdUntil, type KeyEntry } from "./selection/key-entry.ts";
import type { StateWriter } from "./state-writer.ts";
import type { StatsBuffer } from "./stats-buffer.ts";
import type { CredentialKind, CredentialRecord, TokenUsage } from "./types.ts";
import type { Waiter } from "./waiter.ts";

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
  usage?: TokenUsage | null;
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

interface Runtime {
  failures: FailureWindow;
  rpm: RateWindow | null;
  tpm: RateWindow | null;
}

export interface DeskParts {
  config: PoolConfig;
  index: CandidateIndex;
  writer: StateWriter;
  stats: StatsBuffer;
  waiter: Waiter;
  closed: () => boolean;
}

export class LeaseDesk {
  readonly #p: DeskParts;
  readonly #runtime = new Map<string, Runtime>();

  constructor(parts: DeskParts) {
    this.#p = parts;
  }

  /** Forgets a credential's local counters (it was removed). */
  forget(id: string): void {
    this.#runtime.delete(id);
  }

  /** A person vouched for the key: its recent ambiguous failures no longer count. */
  clearFailures(id: string): void {
    this.#runtime.get(id)?.failures.clear();
  }

  /**
   * Checks out a credential for one attempt, waiting (bounded) while every
   * eligible key cools. Null when every eligible key was already tried.
   */
  async acquire(req: AcquireRequest): Promise<Lease | null> {
    const waitLimit = Math.min(req.deadline, Date.now() + this.#p.config.maxWaitMs);
    const kind = req.kind ?? "api";
    for (;;) {
      if (this.#p.closed()) throw new NoCredentialError({ reason: "empty" });
      const now = Date.now();
      const e = req.only === undefined ? this.#p.index.pick(req.model, req.exclude, now, kind) : this.#only(req.only, req.model, now);
      if (e !== undefined) return this.#lease(e, req.model);
      if (req.only === undefined && req.exclude !== null && req.exclude.size > 0 && this.#p.index.size(req.model, kind) > 0) return null;
      const why = req.only === undefined ? this.#p.index.explain(req.model, now, kind) : this.#explainOnly(req.only, req.model, now);
      const until = why.reason === "cooling" ? why.until : why.reason === "busy" ? now + 250 : Infinity;
      if (until > waitLimit) throw new NoCredentialError(why, now);
      await this.#p.waiter.wait(until - now, req.signal);
    }
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
    this.#p.index.finished(e);
    this.#p.waiter.notify();
    if (report.aborted === true) {
      this.#p.stats.add(e.id, 1, 0, 0, now);
      return null;
    }

    const rt = this.#rt(e.record);
    const ambiguousCount = isAmbiguous(outcome.kind) ? rt.failures.record(now) : 0;
    const spent = report.usage != null && lease.model !== null ? this.#spend(e, lease.model, report.usage, now) : 0;
    const failed = outcome.kind !== "success";
    this.#p.stats.add(e.id, 1, failed ? 1 : 0, spent, now);

    const rec = e.record;
    let plan: Plan | null = null;
    if (this.#p.index.entries.has(e.id)) {
      const ejected = ambiguousCount >= this.#p.config.policy.ambiguousThreshold ? this.#ejectedShare(now) : { now: 0, after: 0 };
      plan = planForOutcome(rec, outcome, { model: lease.model, now, policy: this.#p.config.policy, ambiguousCount, ejectedPercent: ejected.now, ejectedPercentAfter: ejected.after });
      if (plan === null && spent > 0) plan = this.#budgetPlan(e, now);
      if (plan !== null) {
        if (plan.event === "state") rt.failures.clear();
        void this.#p.writer.apply(rec, plan, now);
      }
    }
    return plan;
  }

  /**
   * Usage learned after the lease was released (the gateway's count of an answer that carried
   * none): spent against the key's budget and TPM like usage reported at release.
   */
  charge(id: string, model: string, usage: TokenUsage): Plan | null {
    const e = this.#p.index.entries.get(id);
    if (e === undefined) return null;
    const now = Date.now();
    const spent = this.#spend(e, model, usage, now);
    if (spent <= 0) return null;
    this.#p.stats.add(e.id, 0, 0, spent, now);
    const plan = this.#budgetPlan(e, now);
    if (plan !== null) void this.#p.writer.apply(e.record, plan, now);
    return plan;
  }

  /** Rest for the budget once the stored spend and what waits to be stored reach it. */
  #budgetPlan(e: KeyEntry, now: number): Plan | null {
    return planBudget(e.record, e.record.spentUsd + (this.#p.stats.pending(e.id)?.spentUsd ?? 0), now);
  }

  /** The cost of `usage` at the model's price; the tokens count against the key's TPM limit. */
  #spend(e: KeyEntry, model: string, usage: TokenUsage, now: number): number {
    const rt = this.#rt(e.record);
    if (rt.tpm !== null && e.record.tpm !== null) {
      rt.tpm.add(now, usage.promptTokens + usage.completionTokens);
      if (rt.tpm.total(now) >= e.record.tpm) this.#p.index.hold(e, "*", rt.tpm.freeAt(now, e.record.tpm - 1));
    }
    return costUsd(model, usage.promptTokens, usage.completionTokens, this.#p.config.prices);
  }

  #lease(e: KeyEntry, model: string | null): Lease {
    this.#p.index.started(e, model);
    const rt = this.#rt(e.record);
    if (rt.rpm !== null && e.record.rpm !== null) {
      const now = Date.now();
      rt.rpm.add(now, 1);
      if (rt.rpm.total(now) >= e.record.rpm) this.#p.index.hold(e, "*", rt.rpm.freeAt(now, e.record.rpm - 1));
    }
    return { entry: e, record: e.record, model, released: false };
  }

  #only(id: string, model: string | null, now: number): KeyEntry | undefined {
    const e = this.#p.index.entries.get(id);
    if (e === undefined) throw new NotFoundError("credential", id);
    const r = e.record;
    if (!isUsable(r, model, now) || holdUntil(e, model) > now) return undefined;
    return r.maxInFlight !== null && e.inFlight >= r.maxInFlight ? undefined : e;
  }

  #explainOnly(id: string, model: string | null, now: number): NoCandidate {
    const e = this.#p.index.entries.get(id);
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
      rt = { failures: new FailureWindow(this.#p.config.policy.ambiguousWindowMs), rpm: null, tpm: null };
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
    for (const e of this.#p.index.entries.values()) {
      const r = e.record;
      if (r.state === "retired" || r.state === "disabled") continue;
      total++;
      if (r.ejections > 0 && ((r.state === "cooling" && r.coolUntil > now) || r.state === "quarantined")) out++;
    }
    if (total === 0) return { now: 0, after: 100 };
    return { now: (out / total) * 100, after: ((out + 1) / total) * 100 };
  }

}
