/**
 * Applies plans: locally at once (this instance stops using a bad key before
 * the store answers), then through the store's compare-and-set. When the
 * store can't be reached the change waits in a bounded outbox and is retried;
 * the compare-and-set settles conflicts on reconciliation, so a retired key
 * never comes back to life.
 */
import { KeypoolError } from "../errors/keypool-error.ts";
import type { Store } from "../store/types.ts";
import { makeEvent } from "./audit.ts";
import type { Plan } from "./plan.ts";
import type { AuditEvent, CredentialRecord } from "./types.ts";

export interface WriterHooks {
  /** The record as it now is (from the store, or optimistic). */
  applied(record: CredentialRecord): void;
  removed(id: string): void;
  event(event: AuditEvent): void;
  /** A write was dropped or failed for good. */
  error(err: unknown): void;
}

interface Pending {
  record: CredentialRecord;
  plan: Plan;
  event: AuditEvent | undefined;
}

export class StateWriter {
  readonly #store: Store;
  readonly #instance: string;
  readonly #hooks: WriterHooks;
  readonly #outbox: Pending[] = [];
  readonly #maxOutbox: number;
  #timer: NodeJS.Timeout | undefined;
  #flushing = false;
  dropped = 0;

  constructor(store: Store, instance: string, hooks: WriterHooks, maxOutbox = 10_000) {
    this.#store = store;
    this.#instance = instance;
    this.#hooks = hooks;
    this.#maxOutbox = maxOutbox;
  }

  get queued(): number {
    return this.#outbox.length;
  }

  /** Applies a plan made from `record`; resolves when the store has it (or it was queued). */
  async apply(record: CredentialRecord, plan: Plan, now: number = Date.now()): Promise<void> {
    const event = plan.event === null ? undefined : makeEvent(record, { kind: plan.event, from: record.state, to: plan.to === "removed" ? null : plan.to, reason: plan.reason, evidence: plan.evidence }, this.#instance, now);
    if (plan.to === "removed") this.#hooks.removed(record.id);
    else this.#hooks.applied({ ...record, ...plan.patch });
    await this.#write({ record, plan, event });
  }

  async #write(p: Pending): Promise<boolean> {
    try {
      if (p.plan.to === "removed") {
        const removed = await this.#store.credentials.removeMany([{ id: p.record.id, event: p.event! }]);
        if (removed.length > 0) this.#hooks.event(p.event!);
        return true;
      }
      // Quick: this instance already acts on the change; a busy store gets it from the outbox later.
      const next = await this.#store.credentials.update(p.record.id, p.plan.patch, { from: p.plan.from, quick: true, ...(p.event === undefined ? {} : { event: p.event }) });
      if (next !== null) {
        this.#hooks.applied(next);
        if (p.event !== undefined) this.#hooks.event(p.event);
        return true;
      }
      // Lost the compare-and-set (another instance or a person changed it first): take the store's truth.
      const truth = await this.#store.credentials.get(p.record.id);
      if (truth === null) this.#hooks.removed(p.record.id);
      else this.#hooks.applied(truth);
      return true;
    } catch (err) {
      if (!KeypoolError.is(err) || err.code !== "KP_STORE") {
        this.#hooks.error(err);
        return true;
      }
      this.#enqueue(p);
      return false;
    }
  }

  #enqueue(p: Pending): void {
    if (this.#outbox.length >= this.#maxOutbox) {
      this.#outbox.shift();
      this.dropped++;
    }
    this.#outbox.push(p);
    this.#timer ??= setInterval(() => void this.flush(), 1000).unref();
  }

  /** Retries queued writes in order; stops at the first that still can't reach the store. */
  async flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#outbox.length > 0) {
        const p = this.#outbox.shift()!;
        if (!(await this.#write(p))) {
          // #write re-queued it at the end; move it back to the front to keep order.
          this.#outbox.unshift(this.#outbox.pop()!);
          return;
        }
      }
      clearInterval(this.#timer);
      this.#timer = undefined;
    } finally {
      this.#flushing = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
