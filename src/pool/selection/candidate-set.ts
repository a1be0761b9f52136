import type { KeyEntry } from "./key-entry.ts";

/**
 * The keys that may serve one kind of request, organised for one strategy.
 * Every operation is O(1) or O(log n); `pick` skips the (few) keys a request
 * already tried.
 */
export interface CandidateSet {
  readonly size: number;
  has(e: KeyEntry): boolean;
  add(e: KeyEntry): void;
  remove(e: KeyEntry): void;
  /** The entry's weight, load or headroom changed. */
  update(e: KeyEntry): void;
  pick(exclude: ReadonlySet<string> | null): KeyEntry | undefined;
  values(): Iterable<KeyEntry>;
}

/** Array + position map: O(1) add, remove (swap with last) and uniform access. */
export class IndexedArray {
  readonly items: KeyEntry[] = [];
  readonly #pos = new Map<KeyEntry, number>();

  get size(): number {
    return this.items.length;
  }
  has(e: KeyEntry): boolean {
    return this.#pos.has(e);
  }
  indexOf(e: KeyEntry): number {
    return this.#pos.get(e) ?? -1;
  }
  /** Returns the index it was placed at, or -1 if present already. */
  add(e: KeyEntry): number {
    if (this.#pos.has(e)) return -1;
    this.#pos.set(e, this.items.length);
    this.items.push(e);
    return this.items.length - 1;
  }
  /** Returns [removed index, entry moved into it or undefined]. */
  remove(e: KeyEntry): [number, KeyEntry | undefined] {
    const i = this.#pos.get(e);
    if (i === undefined) return [-1, undefined];
    const last = this.items.pop()!;
    this.#pos.delete(e);
    if (last === e) return [i, undefined];
    this.items[i] = last;
    this.#pos.set(last, i);
    return [i, last];
  }
}

/** A candidate set kept in an indexed array; strategies that need no order beyond it only choose. */
export abstract class ArrayCandidateSet implements CandidateSet {
  protected readonly arr = new IndexedArray();

  get size(): number {
    return this.arr.size;
  }
  has(e: KeyEntry): boolean {
    return this.arr.has(e);
  }
  add(e: KeyEntry): void {
    this.arr.add(e);
  }
  remove(e: KeyEntry): void {
    this.arr.remove(e);
  }
  update(): void {}
  values(): Iterable<KeyEntry> {
    return this.arr.items;
  }
  abstract pick(exclude: ReadonlySet<string> | null): KeyEntry | undefined;
}

/** Fallback when sampling kept hitting excluded keys: the first allowed key from a start index. */
export function scanFrom(items: readonly KeyEntry[], start: number, exclude: ReadonlySet<string>): KeyEntry | undefined {
  const n = items.length;
  for (let k = 0; k < n; k++) {
    const e = items[(start + k) % n]!;
    if (!exclude.has(e.id)) return e;
  }
  return undefined;
}
