import { IndexedArray, scanFrom, type CandidateSet } from "./candidate-set.ts";
import type { KeyEntry } from "./key-entry.ts";

/** Uniform random choice: the write-up's strategy, done without a network round trip. */
export class RandomSet implements CandidateSet {
  readonly #arr = new IndexedArray();
  readonly #rng: () => number;

  constructor(rng: () => number) {
    this.#rng = rng;
  }
  get size(): number {
    return this.#arr.size;
  }
  has(e: KeyEntry): boolean {
    return this.#arr.has(e);
  }
  add(e: KeyEntry): void {
    this.#arr.add(e);
  }
  remove(e: KeyEntry): void {
    this.#arr.remove(e);
  }
  update(): void {}
  values(): Iterable<KeyEntry> {
    return this.#arr.items;
  }
  pick(exclude: ReadonlySet<string> | null): KeyEntry | undefined {
    const items = this.#arr.items;
    const n = items.length;
    if (n === 0) return undefined;
    for (let tries = 0; tries < 8; tries++) {
      const e = items[Math.floor(this.#rng() * n)]!;
      if (exclude === null || !exclude.has(e.id)) return e;
    }
    return scanFrom(items, Math.floor(this.#rng() * n), exclude!);
  }
}
