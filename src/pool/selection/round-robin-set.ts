import { IndexedArray, scanFrom, type CandidateSet } from "./candidate-set.ts";
import type { KeyEntry } from "./key-entry.ts";

/** Takes keys in turn; the turn counter may be shared between instances (see SharedSequence). */
export class RoundRobinSet implements CandidateSet {
  readonly #arr = new IndexedArray();
  readonly #next: () => number;

  constructor(next: () => number) {
    this.#next = next;
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
    if (items.length === 0) return undefined;
    const start = this.#next() % items.length;
    const e = items[start]!;
    if (exclude === null || !exclude.has(e.id)) return e;
    return scanFrom(items, start + 1, exclude);
  }
}
