/**
 * Writes usage records. When the store can't take them they wait in a bounded
 * buffer and are retried; records carry ids and the stores ignore ids they
 * have seen, so a retry never counts usage twice.
 */
import { KeypoolError } from "../errors/keypool-error.ts";
import type { Store } from "../store/types.ts";
import type { UsageRecord } from "./types.ts";

export class UsageWriter {
  readonly #store: Store;
  readonly #max: number;
  #queue: UsageRecord[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing = false;
  dropped = 0;

  constructor(store: Store, max = 100_000) {
    this.#store = store;
    this.#max = max;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Resolves once written (`queued: false`) or buffered for a retry (`queued: true`). */
  async write(records: readonly UsageRecord[]): Promise<{ queued: boolean }> {
    if (records.length === 0) return { queued: false };
    if (this.#queue.length === 0) {
      try {
        await this.#store.usage.record(records);
        return { queued: false };
      } catch (err) {
        if (!KeypoolError.is(err) || err.code !== "KP_STORE") throw err;
      }
    }
    this.#enqueue(records);
    return { queued: true };
  }

  #enqueue(records: readonly UsageRecord[]): void {
    this.#queue.push(...records);
    const over = this.#queue.length - this.#max;
    if (over > 0) {
      this.#queue.splice(0, over);
      this.dropped += over;
    }
    this.#timer ??= setInterval(() => void this.flush(), 1000).unref();
  }

  async flush(): Promise<void> {
    if (this.#flushing || this.#queue.length === 0) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.slice(0, 500);
        await this.#store.usage.record(batch);
        this.#queue.splice(0, batch.length);
      }
      clearInterval(this.#timer);
      this.#timer = undefined;
    } catch {
      // still unreachable: the timer tries again
    } finally {
      this.#flushing = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
