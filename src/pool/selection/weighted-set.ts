import { IndexedArray, scanFrom, type CandidateSet } from "./candidate-set.ts";
import type { KeyEntry } from "./key-entry.ts";

/**
 * Chooses a key with probability proportional to its weight, in O(log n)
 * through a Fenwick tree over the positions of an indexed array.
 */
export class WeightedSet implements CandidateSet {
  readonly #arr = new IndexedArray();
  readonly #rng: () => number;
  #tree = new Float64Array(16); // 1-based Fenwick tree
  #weights = new Float64Array(16);
  #total = 0;

  constructor(rng: () => number) {
    this.#rng = rng;
  }
  get size(): number {
    return this.#arr.size;
  }
  has(e: KeyEntry): boolean {
    return this.#arr.has(e);
  }
  values(): Iterable<KeyEntry> {
    return this.#arr.items;
  }

  add(e: KeyEntry): void {
    const i = this.#arr.add(e);
    if (i < 0) return;
    if (i + 1 >= this.#tree.length) this.#grow();
    this.#set(i, weightOf(e));
  }

  remove(e: KeyEntry): void {
    const lastIndex = this.#arr.size - 1;
    const [i, moved] = this.#arr.remove(e);
    if (i < 0) return;
    if (moved !== undefined) this.#set(i, weightOf(moved));
    this.#set(lastIndex === i ? i : lastIndex, 0);
  }

  update(e: KeyEntry): void {
    const i = this.#arr.indexOf(e);
    if (i >= 0 && this.#weights[i] !== weightOf(e)) this.#set(i, weightOf(e));
  }

  pick(exclude: ReadonlySet<string> | null): KeyEntry | undefined {
    const items = this.#arr.items;
    if (items.length === 0) return undefined;
    if (this.#total <= 0) return scanFrom(items, Math.floor(this.#rng() * items.length), exclude ?? new Set());
    for (let tries = 0; tries < 8; tries++) {
      const e = items[this.#find(this.#rng() * this.#total)]!;
      if (exclude === null || !exclude.has(e.id)) return e;
    }
    // Nearly every weight sits on excluded keys: choose among the rest directly.
    let total = 0;
    for (const e of items) if (!exclude!.has(e.id)) total += weightOf(e);
    let r = this.#rng() * total;
    for (const e of items) {
      if (exclude!.has(e.id)) continue;
      r -= weightOf(e);
      if (r < 0) return e;
    }
    return scanFrom(items, 0, exclude!);
  }

  #set(i: number, w: number): void {
    const delta = w - this.#weights[i]!;
    if (delta === 0) return;
    this.#weights[i] = w;
    this.#total += delta;
    for (let j = i + 1; j < this.#tree.length; j += j & -j) this.#tree[j]! += delta;
  }

  /** Smallest index whose prefix sum exceeds r. */
  #find(r: number): number {
    let pos = 0;
    let step = 1;
    while (step * 2 < this.#tree.length) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = pos + step;
      if (next < this.#tree.length && this.#tree[next]! <= r) {
        pos = next;
        r -= this.#tree[next]!;
      }
    }
    return Math.min(pos, this.#arr.size - 1);
  }

  #grow(): void {
    const weights = new Float64Array(this.#weights.length * 2);
    weights.set(this.#weights);
    this.#weights = weights;
    this.#tree = new Float64Array(weights.length);
    for (let i = 0; i < weights.length - 1; i++) {
      for (let j = i + 1; j < this.#tree.length; j += j & -j) this.#tree[j]! += weights[i]!;
    }
  }
}

const weightOf = (e: KeyEntry): number => Math.max(0, e.record.weight);
