import type { StatsDelta, Store } from "../store/types.ts";

/** Per-key traffic counters, written behind in batches: display figures, not a ledger. */
export class StatsBuffer {
  readonly #store: Store;
  readonly #deltas = new Map<string, StatsDelta>();
  readonly #timer: NodeJS.Timeout;
  readonly #onFlushed: ((batch: readonly StatsDelta[]) => void) | undefined;

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

  pending(id: string): StatsDelta | undefined {
    return this.#deltas.get(id);
  }

  async flush(): Promise<void> {
    if (this.#deltas.size === 0) return;
    const batch = [...this.#deltas.values()];
    this.#deltas.clear();
    try {
      await this.#store.credentials.bumpStats(batch);
    } catch (err) {
      // Keep them for the next try rather than lose the counts.
      for (const d of batch) {
        const cur = this.#deltas.get(d.id);
        if (cur === undefined) this.#deltas.set(d.id, d);
        else this.add(d.id, d.requests, d.failures, d.spentUsd, Math.max(d.lastUsedAt ?? 0, cur.lastUsedAt ?? 0));
      }
      throw err;
    }
    this.#onFlushed?.(batch);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush().catch(() => {});
  }
}
