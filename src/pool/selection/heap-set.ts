import type { CandidateSet } from "./candidate-set.ts";
import type { KeyEntry } from "./key-entry.ts";

/** Lower is better. Ties go to the key picked longest ago, so equal keys take turns. */
export type Score = (e: KeyEntry) => number;

/**
 * An indexed binary min-heap over a score: O(log n) add, remove and update,
 * O(1) best, and a best-first walk that skips the keys a request already tried.
 */
export class HeapSet implements CandidateSet {
  readonly #heap: KeyEntry[] = [];
  readonly #score: number[] = [];
  readonly #pos = new Map<KeyEntry, number>();
  readonly #scoreOf: Score;

  constructor(score: Score) {
    this.#scoreOf = score;
  }
  get size(): number {
    return this.#heap.length;
  }
  has(e: KeyEntry): boolean {
    return this.#pos.has(e);
  }
  values(): Iterable<KeyEntry> {
    return this.#heap;
  }

  add(e: KeyEntry): void {
    if (this.#pos.has(e)) return this.update(e);
    this.#heap.push(e);
    this.#score.push(this.#scoreOf(e));
    this.#pos.set(e, this.#heap.length - 1);
    this.#up(this.#heap.length - 1);
  }

  remove(e: KeyEntry): void {
    const i = this.#pos.get(e);
    if (i === undefined) return;
    const lastIndex = this.#heap.length - 1;
    this.#swap(i, lastIndex);
    this.#heap.pop();
    this.#score.pop();
    this.#pos.delete(e);
    if (i < this.#heap.length) {
      this.#up(i);
      this.#down(i);
    }
  }

  update(e: KeyEntry): void {
    const i = this.#pos.get(e);
    if (i === undefined) return;
    this.#score[i] = this.#scoreOf(e);
    this.#up(i);
    this.#down(i);
  }

  pick(exclude: ReadonlySet<string> | null): KeyEntry | undefined {
    if (this.#heap.length === 0) return undefined;
    const top = this.#heap[0]!;
    if (exclude === null || !exclude.has(top.id)) return top;
    // Best-first walk of the heap's top: visits O(k log k) nodes for k excluded keys.
    const frontier: number[] = [0];
    while (frontier.length > 0) {
      let bestAt = 0;
      for (let k = 1; k < frontier.length; k++) if (this.#less(frontier[k]!, frontier[bestAt]!)) bestAt = k;
      const i = frontier[bestAt]!;
      frontier[bestAt] = frontier[frontier.length - 1]!;
      frontier.pop();
      const e = this.#heap[i]!;
      if (!exclude.has(e.id)) return e;
      const l = 2 * i + 1;
      if (l < this.#heap.length) frontier.push(l);
      if (l + 1 < this.#heap.length) frontier.push(l + 1);
    }
    return undefined;
  }

  #less(a: number, b: number): boolean {
    const sa = this.#score[a]!;
    const sb = this.#score[b]!;
    return sa < sb || (sa === sb && this.#heap[a]!.lastPick < this.#heap[b]!.lastPick);
  }

  #swap(a: number, b: number): void {
    if (a === b) return;
    const ea = this.#heap[a]!;
    const eb = this.#heap[b]!;
    this.#heap[a] = eb;
    this.#heap[b] = ea;
    const s = this.#score[a]!;
    this.#score[a] = this.#score[b]!;
    this.#score[b] = s;
    this.#pos.set(eb, a);
    this.#pos.set(ea, b);
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.#less(l, best)) best = l;
      if (r < n && this.#less(r, best)) best = r;
      if (best === i) return;
      this.#swap(i, best);
      i = best;
    }
  }
}
