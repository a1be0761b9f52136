import { ArrayCandidateSet, scanFrom } from "./candidate-set.ts";
import type { KeyEntry } from "./key-entry.ts";

/** Uniform random choice: the write-up's strategy, done without a network round trip. */
export class RandomSet extends ArrayCandidateSet {
  readonly #rng: () => number;

  constructor(rng: () => number) {
    super();
    this.#rng = rng;
  }

  pick(exclude: ReadonlySet<string> | null): KeyEntry | undefined {
    const items = this.arr.items;
    const n = items.length;
    if (n === 0) return undefined;
    for (let tries = 0; tries < 8; tries++) {
      const e = items[Math.floor(this.#rng() * n)]!;
      if (exclude === null || !exclude.has(e.id)) return e;
    }
    return scanFrom(items, Math.floor(this.#rng() * n), exclude!);
  }
}
