/** Counts a key's ambiguous failures inside a sliding time window (per instance). */
export class FailureWindow {
  readonly #windowMs: number;
  #times: number[] = [];

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Records a failure at `now` and returns how many fall inside the window. */
  record(now: number): number {
    this.#prune(now);
    this.#times.push(now);
    return this.#times.length;
  }

  count(now: number): number {
    this.#prune(now);
    return this.#times.length;
  }

  clear(): void {
    this.#times = [];
  }

  #prune(now: number): void {
    const cutoff = now - this.#windowMs;
    let drop = 0;
    while (drop < this.#times.length && this.#times[drop]! <= cutoff) drop++;
    if (drop > 0) this.#times.splice(0, drop);
  }
}
