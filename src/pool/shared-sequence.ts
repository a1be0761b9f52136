import type { CounterRepo } from "../store/types.ts";

/**
 * A round-robin counter shared by every instance on a store, without a round
 * trip per request: each instance reserves blocks of turns ahead of time and
 * hands them out locally; while a block is on its way, it counts on locally.
 */
export class SharedSequence {
  readonly #counters: CounterRepo;
  readonly #name: string;
  readonly #block: number;
  #next = Math.floor(Math.random() * 1_000_000);
  #end = 0;
  #pending: { start: number; end: number } | null = null;
  #refilling = false;

  constructor(counters: CounterRepo, name = "round-robin", block = 64) {
    this.#counters = counters;
    this.#name = name;
    this.#block = block;
  }

  next(): number {
    if (this.#next >= this.#end && this.#pending !== null) {
      ({ start: this.#next, end: this.#end } = this.#pending);
      this.#pending = null;
    }
    if (this.#end - this.#next < this.#block / 2) this.#refill();
    return this.#next++;
  }

  #refill(): void {
    if (this.#refilling || this.#pending !== null) return;
    this.#refilling = true;
    this.#counters.incr(this.#name, this.#block, { quick: true }).then(
      (end) => {
        this.#pending = { start: end - this.#block, end };
        this.#refilling = false;
      },
      () => {
        this.#refilling = false; // store unreachable: keep counting locally
      },
    );
  }
}
