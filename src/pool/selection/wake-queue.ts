import type { KeyEntry } from "./key-entry.ts";

/** A min-heap of (time, entry): when a cooldown or hold ends, the entry is looked at again. */
export class WakeQueue {
  readonly #at: number[] = [];
  readonly #entries: KeyEntry[] = [];

  get size(): number {
    return this.#at.length;
  }

  /** Schedules `e` at `at` unless it is already due at or before then. */
  schedule(e: KeyEntry, at: number, now: number): void {
    if (e.wakeAt > now && e.wakeAt <= at) return;
    e.wakeAt = at;
    this.#at.push(at);
    this.#entries.push(e);
    let i = this.#at.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#at[p]! <= this.#at[i]!) break;
      this.#swap(i, p);
      i = p;
    }
  }

  /** Time of the next wake-up, or Infinity. */
  peek(): number {
    return this.#at[0] ?? Infinity;
  }

  /** Removes and returns the entries due at `now`. */
  popDue(now: number): KeyEntry[] {
    const due: KeyEntry[] = [];
    while (this.#at.length > 0 && this.#at[0]! <= now) {
      const e = this.#entries[0]!;
      this.#swap(0, this.#at.length - 1);
      this.#at.pop();
      this.#entries.pop();
      this.#down(0);
      if (e.wakeAt <= now) e.wakeAt = 0;
      due.push(e);
    }
    return due;
  }

  #swap(a: number, b: number): void {
    [this.#at[a], this.#at[b]] = [this.#at[b]!, this.#at[a]!];
    [this.#entries[a], this.#entries[b]] = [this.#entries[b]!, this.#entries[a]!];
  }

  #down(i: number): void {
    const n = this.#at.length;
    for (;;) {
      const l = 2 * i + 1;
      let best = i;
      if (l < n && this.#at[l]! < this.#at[best]!) best = l;
      if (l + 1 < n && this.#at[l + 1]! < this.#at[best]!) best = l + 1;
      if (best === i) return;
      this.#swap(i, best);
      i = best;
    }
  }
}
