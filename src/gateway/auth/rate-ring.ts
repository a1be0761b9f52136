/**
 * Requests in the last minute in 60 one-second buckets: O(1) per request, fixed memory. A ring
 * can also hold the other gateway instances' windows of the same token (shared through the
 * store), so that a token's rpm holds across instances.
 */
export class RateRing {
  readonly #counts = new Uint32Array(60);
  readonly #seconds = new Float64Array(60);
  #total = 0;

  /**
   * Counts one request if the window (with `others`, the other instances' requests) holds fewer
   * than `limit`; otherwise returns the seconds to wait.
   */
  take(limit: number, now: number, others: RateRing | null = null): number {
    const sec = Math.floor(now / 1000);
    this.#expire(sec);
    if (this.#total + (others === null ? 0 : others.count(now)) >= limit) return Math.max(1, Math.min(this.#oldest(sec), others === null ? sec : others.#oldest(sec)) + 60 - sec);
    const i = sec % 60;
    this.#counts[i]!++;
    this.#total++;
    return 0;
  }

  /** Requests in the window at `now`. */
  count(now: number): number {
    this.#expire(Math.floor(now / 1000));
    return this.#total;
  }

  /** The window's non-empty seconds as flat `[second, count, ...]` pairs (what TokenRepo.shareRate takes). */
  window(now: number): number[] {
    this.#expire(Math.floor(now / 1000));
    const out: number[] = [];
    for (let i = 0; i < 60; i++) if (this.#counts[i]! > 0) out.push(this.#seconds[i]!, this.#counts[i]!);
    return out;
  }

  /** Adds a window given as `[second, count, ...]` pairs; seconds outside the current minute are left out. */
  add(window: readonly number[], now: number): void {
    const sec = Math.floor(now / 1000);
    this.#expire(sec);
    for (let j = 0; j + 1 < window.length; j += 2) {
      const s = window[j]!;
      const n = window[j + 1]!;
      if (!(s > sec - 60 && s <= sec && n > 0)) continue;
      const i = s % 60;
      if (this.#seconds[i] !== s) {
        this.#total -= this.#counts[i]!;
        this.#counts[i] = 0;
        this.#seconds[i] = s;
      }
      this.#counts[i]! += n;
      this.#total += n;
    }
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

  /** The oldest second with requests (`sec` when there is none). */
  #oldest(sec: number): number {
    let oldest = sec;
    for (let i = 0; i < 60; i++) if (this.#counts[i]! > 0 && this.#seconds[i]! < oldest) oldest = this.#seconds[i]!;
    return oldest;
  }
}
