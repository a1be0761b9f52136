const SLOTS = 60;

/**
 * A sliding window counter with 60 slots (1 s each for a one-minute window):
 * exact to one slot, constant memory and time whatever the request rate.
 */
export class SlidingWindow {
  readonly limit: number;
  readonly windowMs: number;
  readonly #slotMs: number;
  readonly #slots = new Float64Array(SLOTS);
  /** Absolute index of the newest slot (time / slotMs). */
  #head = -1;
  /** Absolute index of the newest slot that holds something. */
  #newest = -1;
  #sum = 0;

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#slotMs = windowMs / SLOTS;
  }

  /** Total in the window (call `advance` first). */
  get sum(): number {
    return this.#sum;
  }

  /** Moves the window to `now`, dropping what left it. */
  advance(now: number): void {
    this.#advance(now);
  }

  #advance(now: number): void {
    const idx = Math.floor(now / this.#slotMs);
    if (idx <= this.#head) return;
    if (this.#head < 0 || idx - this.#head >= SLOTS) {
      this.#slots.fill(0);
      this.#sum = 0;
    } else {
      for (let i = this.#head + 1; i <= idx; i++) {
        const s = i % SLOTS;
        this.#sum -= this.#slots[s]!;
        this.#slots[s] = 0;
      }
    }
    this.#head = idx;
  }

  used(now: number): number {
    this.#advance(now);
    return this.#sum;
  }

  add(now: number, n: number): void {
    this.#advance(now);
    this.#slots[this.#head % SLOTS]! += n;
    this.#sum += n;
    this.#newest = this.#head;
  }

  /** Milliseconds until `n` more units fit (0: they fit now). */
  waitFor(now: number, n: number): number {
    this.#advance(now);
    const need = this.#sum + n - this.limit;
    if (need <= 0) return 0;
    let freed = 0;
    for (let k = 0; k < SLOTS; k++) {
      const i = this.#head - SLOTS + 1 + k;
      freed += this.#slots[i % SLOTS]!;
      if (freed >= need) return Math.max(1, (i + SLOTS) * this.#slotMs - now);
    }
    return this.windowMs;
  }

  /** Milliseconds until the window is back to its initial state (empty). */
  resetMs(now: number): number {
    this.#advance(now);
    if (this.#sum === 0) return 0;
    return Math.max(0, (this.#newest + SLOTS) * this.#slotMs - now);
  }
}
