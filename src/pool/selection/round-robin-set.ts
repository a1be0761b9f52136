import { ArrayCandidateSet, scanFrom } from "./candidate-set.ts";
import type { KeyEntry } from "./key-entry.ts";

/** Takes keys in turn; the turn counter may be shared between instances (see SharedSequence). */
export class RoundRobinSet extends ArrayCandidateSet {
  readonly #next: () => number;

  constructor(next: () => number) {
    super();
    this.#next = next;
  }

  pick(exclude: ReadonlySet<string> | null): KeyEntry | undefined {
    const items = this.arr.items;
    if (items.length === 0) return undefined;
    const start = this.#next() % items.length;
    const e = items[start]!;
    if (exclude === null || !exclude.has(e.id)) return e;
    return scanFrom(items, start + 1, exclude);
  }
}
