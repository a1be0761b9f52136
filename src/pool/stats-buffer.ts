import { randomBytes } from "node:crypto";
import type { StatsDelta, Store } from "../store/types.ts";

interface Batch {
  id: string;
  deltas: Map<string, StatsDelta>;
}

/**
 * Per-key traffic counters, written behind in batches. A batch the store
 * refused is retried as it was, under its id, before anything newer: a
 * store that took part of it (a batch cut half-way, a timeout after the
 * write) skips what it already counted, so nothing counts twice, and the
 * spend that budgets read stays exact.
 */
export class StatsBuffer {
  readonly #store: Store;
  readonly #deltas = new Map<string, StatsDelta>();
  /** Batches the store refused, oldest first. */
  readonly #unsent: Batch[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #onFlushed: ((batch: readonly StatsDelta[]) => void) | undefined;
  readonly #prefix = randomBytes(6).toString("hex");
  #seq = 0;
  /** The last flush asked for; the next one runs after it. */
  #flushing: Promise<void> = Promise.resolve();

  /**
   * `onFlushed` hears each batch once the store has it: the store's counter
   * bump makes no change-feed entry, so the instance adds the counts to its
   * own copy there (otherwise they vanish from its views once no longer pending).
   */
  constructor(store: Store, flushMs = 2000, onFlushed?: (batch: readonly StatsDelta[]) => void) {
    this.#store = store;
    this.#onFlushed = onFlushed;
    this.#timer = setInterval(() => void this.flush().catch(() => {}), flushMs).unref();
  }

  add(id: string, requests: number, failures: number, spentUsd: number, at: number): void {
    let d = this.#deltas.get(id);
    if (d === undefined) {
      d = { id, requests: 0, failures: 0, spentUsd: 0, lastUsedAt: null };
      this.#deltas.set(id, d);
    }
    d.requests += requests;
    d.failures += failures;
    d.spentUsd += spentUsd;
    if (requests > 0) d.lastUsedAt = at;
  }

  /** What the store doesn't have yet of a key's counters (the batches it refused included). */
  pending(id: string): StatsDelta | undefined {
    const d = this.#deltas.get(id);
    if (this.#unsent.length === 0) return d;
    let sum = d === undefined ? undefined : { ...d };
    for (const b of this.#unsent) {
      const u = b.deltas.get(id);
      if (u === undefined) continue;
      if (sum === undefined) sum = { ...u };
      else addCounts(sum, u);
    }
    return sum;
  }

  /** Writes what is pending, after any flush still running (so no batch is sent twice at once). */
  flush(): Promise<void> {
    const run = this.#flushing.catch(() => {}).then(() => this.#flush());
    this.#flushing = run;
    return run;
  }

  async #flush(): Promise<void> {
    if (this.#deltas.size > 0) {
      // Only the first waiting batch can have been partly taken; a second was never sent, so new
      // counts join it (a long outage holds two batches, not one per flush).
      const open = this.#unsent[1];
      if (open === undefined) this.#unsent.push({ id: `${this.#prefix}-${++this.#seq}`, deltas: new Map(this.#deltas) });
      else for (const d of this.#deltas.values()) addTo(open.deltas, d);
      this.#deltas.clear();
    }
    while (this.#unsent.length > 0) {
      const batch = this.#unsent[0]!;
      const deltas = [...batch.deltas.values()];
      await this.#store.credentials.bumpStats(deltas, batch.id); // a refusal leaves it first in line
      this.#unsent.shift();
      this.#onFlushed?.(deltas);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush().catch(() => {});
  }
}

/** Adds a key's counts into a batch (a copy when the batch has none of that key yet). */
function addTo(batch: Map<string, StatsDelta>, d: StatsDelta): void {
  const t = batch.get(d.id);
  if (t === undefined) batch.set(d.id, { ...d });
  else addCounts(t, d);
}

/** Adds `d`'s counts to `into` (the same key's); the later last use wins. */
function addCounts(into: StatsDelta, d: StatsDelta): void {
  into.requests += d.requests;
  into.failures += d.failures;
  into.spentUsd += d.spentUsd;
  if (d.lastUsedAt !== null && (into.lastUsedAt === null || d.lastUsedAt > into.lastUsedAt)) into.lastUsedAt = d.lastUsedAt;
}
