/**
 * The per-instance selection index. Keys that may serve a request live in
 * candidate sets kept up to date on every change, so a pick is O(1) or
 * O(log n) and never touches the network:
 * - ANY: requests naming no model;
 * - OPEN: models no key says anything special about (keys without an allow-list);
 * - one set per model that some key restricts, lacks or cools for, built on first use.
 * Time-based blocks (cooldowns, holds) end through a wake queue.
 */
import { availableAt, keyWideBlock, modelBlock } from "../eligibility.ts";
import type { CredentialKind, CredentialRecord, CredentialState } from "../types.ts";
import type { CandidateSet } from "./candidate-set.ts";
import { estimateHeadroom } from "./headroom.ts";
import { holdUntil, newKeyEntry, type KeyEntry } from "./key-entry.ts";
import { createCandidateSet, tracksLoad, type StrategyDeps, type StrategyName } from "./strategies.ts";
import { WakeQueue } from "./wake-queue.ts";

const MAX_SETS = 64;

interface Slot {
  key: string;
  set: CandidateSet;
  /** API keys and web sessions never stand in for each other. */
  kind: CredentialKind;
  /** null for ANY. */
  model: string | null;
  open: boolean;
  usedAt: number;
}

export type NoCandidate =
  | { reason: "empty" }
  | { reason: "model_not_served"; model: string }
  | { reason: "cooling"; until: number }
  | { reason: "busy" }
  | { reason: "unusable"; states: Partial<Record<CredentialState, number>> };

export interface IndexOptions {
  strategy: StrategyName;
  deps: StrategyDeps;
  /** Called when an entry's time-based block may have ended (to persist cooling → active). */
  onWake?: (e: KeyEntry) => void;
  /** Per-model sets unused this long are dropped (rebuilt on demand). */
  idleSetMs?: number;
}

export class CandidateIndex {
  readonly entries = new Map<string, KeyEntry>();
  readonly #opts: IndexOptions;
  readonly #slots = new Map<string, Slot>();
  /** The last slot picked from, by kind and model: skips building a key string per request. */
  #lastSlot: { kind: CredentialKind; model: string | null; slot: Slot } | null = null;
  readonly #mentioned = new Set<string>();
  readonly #wake = new WakeQueue();
  readonly #loadAware: boolean;
  #seq = 0;
  #lastSweep = 0;

  constructor(opts: IndexOptions) {
    this.#opts = opts;
    this.#loadAware = tracksLoad(opts.strategy);
  }

  get strategy(): StrategyName {
    return this.#opts.strategy;
  }

  upsert(record: CredentialRecord): KeyEntry {
    let e = this.entries.get(record.id);
    if (e === undefined) {
      e = newKeyEntry(record);
      this.entries.set(record.id, e);
    } else e.record = record;
    this.#mention(record);
    this.refresh(e);
    return e;
  }

  remove(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    for (const slot of this.#slots.values()) slot.set.remove(e);
    this.entries.delete(id);
  }

  /** Puts a key on hold for a model ("*" = all) until a time, locally. */
  hold(e: KeyEntry, model: string, until: number): void {
    if ((e.holds.get(model) ?? 0) >= until) return;
    e.holds.set(model, until);
    if (model !== "*") this.#mentionModel(model);
    this.refresh(e);
  }

  pick(model: string | null, exclude: ReadonlySet<string> | null, now: number = this.#opts.deps.now(), kind: CredentialKind = "api"): KeyEntry | undefined {
    this.tick(now);
    const slot = this.#slotFor(model, kind);
    slot.usedAt = now;
    for (let drift = 0; drift < 4; drift++) {
      const e = slot.set.pick(exclude);
      if (e === undefined || this.#eligible(e, slot, now)) return e;
      this.refresh(e, now); // should not happen; heal the set and try again
    }
    return undefined;
  }

  /** Bookkeeping when a request goes out on `e`. */
  started(e: KeyEntry, model: string | null): void {
    e.inFlight++;
    e.lastPick = ++this.#seq;
    if (this.#opts.strategy === "headroom") {
      const now = this.#opts.deps.now();
      const h = estimateHeadroom(e, model, now);
      // Steer away before the limit is hit: nothing left means no more sends until the reset.
      if (h.exhausted) this.hold(e, model ?? "*", h.resetAt);
    }
    if (this.#loadAware || e.record.maxInFlight !== null) this.refresh(e);
  }

  finished(e: KeyEntry): void {
    e.inFlight = Math.max(0, e.inFlight - 1);
    if (this.#loadAware || e.record.maxInFlight !== null) this.refresh(e);
  }

  /** Re-evaluates an entry's membership in every set (after any change to it). */
  refresh(e: KeyEntry, now: number = this.#opts.deps.now()): void {
    if (!this.entries.has(e.id)) return;
    for (const slot of this.#slots.values()) {
      const should = this.#eligible(e, slot, now);
      if (should) {
        if (!slot.set.has(e)) slot.set.add(e);
        else if (this.#loadAware || this.#opts.strategy === "weighted") slot.set.update(e);
      } else if (slot.set.has(e)) slot.set.remove(e);
    }
    const next = this.#nextChange(e, now);
    if (next > now) this.#wake.schedule(e, next, now);
  }

  /** Processes due wake-ups; call before picking or on a timer. */
  tick(now: number = this.#opts.deps.now()): void {
    if (this.#wake.peek() <= now) {
      for (const e of this.#wake.popDue(now)) {
        if (!this.entries.has(e.id)) continue;
        for (const [model, until] of e.holds) if (until <= now) e.holds.delete(model);
        this.refresh(e, now);
        this.#opts.onWake?.(e);
      }
    }
    if (now - this.#lastSweep > 60_000) this.#sweep(now);
  }

  /** When the next wake-up is due (Infinity when none). */
  nextWake(): number {
    return this.#wake.peek();
  }

  size(model: string | null, kind: CredentialKind = "api"): number {
    return this.#slotFor(model, kind).set.size;
  }

  /** Why no key can serve `model` now. O(n): only on the failure path. */
  explain(model: string | null, now: number = this.#opts.deps.now(), kind: CredentialKind = "api"): NoCandidate {
    if (this.entries.size === 0) return { reason: "empty" };
    let serves = 0;
    let until = Infinity;
    let busy = false;
    const states: Partial<Record<CredentialState, number>> = {};
    for (const e of this.entries.values()) {
      const r = e.record;
      if (r.kind !== kind) continue;
      if (model !== null && (modelBlock(r, model, Infinity) === "model_not_allowed" || r.missingModels.includes(model))) continue;
      serves++;
      states[r.state] = (states[r.state] ?? 0) + 1;
      if (r.state !== "active" && r.state !== "cooling") continue;
      const at = Math.max(availableAt(r, model), holdUntil(e, model));
      if (at > now) until = Math.min(until, at);
      else if (r.maxInFlight !== null && e.inFlight >= r.maxInFlight) busy = true;
    }
    if (serves === 0) return model === null ? { reason: "empty" } : { reason: "model_not_served", model };
    if (until !== Infinity) return { reason: "cooling", until };
    if (busy) return { reason: "busy" };
    return { reason: "unusable", states };
  }

  #newSlot(kind: CredentialKind, model: string | null, open: boolean, key: string): Slot {
    const slot: Slot = { key, set: createCandidateSet(this.#opts.strategy, model, this.#opts.deps), kind, model, open, usedAt: 0 };
    this.#slots.set(key, slot);
    const now = this.#opts.deps.now();
    for (const e of this.entries.values()) if (this.#eligible(e, slot, now)) slot.set.add(e);
    return slot;
  }

  #base(kind: CredentialKind, open: boolean): Slot {
    const key = `${kind}\u0000${open ? "open" : "any"}`;
    return this.#slots.get(key) ?? this.#newSlot(kind, null, open, key);
  }

  #slotFor(model: string | null, kind: CredentialKind): Slot {
    const last = this.#lastSlot;
    if (last !== null && last.model === model && last.kind === kind && this.#slots.get(last.slot.key) === last.slot) return last.slot;
    const slot = this.#findSlot(model, kind);
    this.#lastSlot = { kind, model, slot };
    return slot;
  }

  #findSlot(model: string | null, kind: CredentialKind): Slot {
    if (model === null) return this.#base(kind, false);
    const key = `${kind}\u0000m:${model}`;
    const slot = this.#slots.get(key);
    if (slot !== undefined) return slot;
    // Headroom is per model, so each model gets its own order; other strategies share
    // the OPEN set for models no key says anything about. Sets are capped: model names
    // come from clients.
    const own = this.#mentioned.has(model) || (this.#opts.strategy === "headroom" && this.#slots.size < MAX_SETS);
    return own ? this.#newSlot(kind, model, false, key) : this.#base(kind, true);
  }

  #eligible(e: KeyEntry, slot: Slot, now: number): boolean {
    const r = e.record;
    if (r.kind !== slot.kind || keyWideBlock(r, now) !== null) return false;
    if (r.maxInFlight !== null && e.inFlight >= r.maxInFlight) return false;
    if (holdUntil(e, slot.open ? null : slot.model) > now) return false;
    if (slot.open) return r.models === null;
    return slot.model === null || modelBlock(r, slot.model, now) === null;
  }

  /** The next time something time-based about `e` changes. */
  #nextChange(e: KeyEntry, now: number): number {
    let next = Infinity;
    const consider = (t: number): void => {
      if (t > now && t < next) next = t;
    };
    consider(e.record.coolUntil);
    for (const t of Object.values(e.record.modelCooldowns)) consider(t);
    for (const t of e.holds.values()) consider(t);
    return next;
  }

  #mention(r: CredentialRecord): void {
    if (r.models !== null) for (const m of r.models) this.#mentionModel(m);
    for (const m of r.missingModels) this.#mentionModel(m);
    for (const m in r.modelCooldowns) this.#mentionModel(m);
  }

  /** A model some key says something about gets its own set; the slot cache may point elsewhere. */
  #mentionModel(m: string): void {
    if (this.#mentioned.has(m)) return;
    this.#mentioned.add(m);
    this.#lastSlot = null;
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    const idle = this.#opts.idleSetMs ?? 600_000;
    for (const [key, slot] of this.#slots) {
      if (slot.model !== null && now - slot.usedAt > idle) this.#slots.delete(key);
    }
  }
}
