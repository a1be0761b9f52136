/** Requests in the last minute in 60 one-second buckets: O(1) per request, fixed memory. */
export class RateRing {
  readonly #counts = new Uint32Array(60);
  readonly #seconds = new Float64Array(60);
  #total = 0;

  /** Counts one request if the window holds fewer than `limit`; otherwise returns the seconds to wait. */
  take(limit: number, now: number): number {
    const sec = Math.floor(now / 1000);
    this.#expire(sec);
    if (this.#total >= limit) return this.#waitS(sec);
    const i = sec % 60;
    this.#counts[i]!++;
    this.#total++;
    return 0;
  }

  #expire(sec: number): void {
    for (let i = 0; i < 60; i++) {
      if (this.#counts[i]! > 0 && this.#seconds[i]! <= sec - 60) {
        this.#total -= this.#counts[i]!;
        this.#counts[i] = 0;
      }
    }
    const i = sec % 60;
    if (this.#seconds[i] !== sec) {
      this.#total -= this.#counts[i]!;
      this.#counts[i] = 0;
      this.#seconds[i] = sec;
    }
  }

  #waitS(sec: number): number {
    let oldest = sec;
    for (let i = 0; i < 60; i++) if (this.#counts[i]! > 0 && this.#seconds[i]! < oldest) oldest = this.#seconds[i]!;
    return Math.max(1, oldest + 60 - sec);
  }
}
