/** Amounts (requests or tokens) spent in the last window, to stay under limits the user knows of. */
export class RateWindow {
  readonly #windowMs: number;
  #times: number[] = [];
  #amounts: number[] = [];
  #sum = 0;

  constructor(windowMs = 60_000) {
    this.#windowMs = windowMs;
  }

  add(now: number, amount: number): void {
    this.#prune(now);
    this.#times.push(now);
    this.#amounts.push(amount);
    this.#sum += amount;
  }

  total(now: number): number {
    this.#prune(now);
    return this.#sum;
  }

  /** When the total drops to `target` or below (now if it already is). */
  freeAt(now: number, target: number): number {
    this.#prune(now);
    let sum = this.#sum;
    for (let i = 0; i < this.#times.length && sum > target; i++) {
      sum -= this.#amounts[i]!;
      if (sum <= target) return this.#times[i]! + this.#windowMs;
    }
    return now;
  }

  #prune(now: number): void {
    const cutoff = now - this.#windowMs;
    let drop = 0;
    while (drop < this.#times.length && this.#times[drop]! <= cutoff) this.#sum -= this.#amounts[drop++]!;
    if (drop > 0) {
      this.#times.splice(0, drop);
      this.#amounts.splice(0, drop);
    }
  }
}
