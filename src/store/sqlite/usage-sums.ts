/**
 * Usage records summed as the SQLite tables take them: one rollup row per
 * hour, credential, client token and model, and the tokens each client token
 * used. A batch costs one statement per row and per token, not per record;
 * the usage journal sums its records as they are appended, so a fold of its
 * own records neither re-reads nor re-parses its log.
 */
import type { UsageRecord } from "../../pool/types.ts";
import { addToRollup, rollupKey, type HourlyRollup } from "../usage-rollup.ts";

export interface TokenSum {
  tokens: number;
  /** The latest record's time. */
  lastAt: number;
}

export class UsageSums {
  readonly rollups = new Map<string, HourlyRollup>();
  readonly tokens = new Map<string, TokenSum>();
  #records = 0;

  static of(records: readonly UsageRecord[]): UsageSums {
    const sums = new UsageSums();
    for (const r of records) sums.add(r);
    return sums;
  }

  /** Records summed. */
  get records(): number {
    return this.#records;
  }

  add(r: UsageRecord): void {
    const key = rollupKey(r);
    const row = this.rollups.get(key);
    if (row === undefined) this.rollups.set(key, addToRollup(undefined, r));
    else addToRollup(row, r);
    if (r.tokenId !== null) {
      const t = this.tokens.get(r.tokenId);
      if (t === undefined) this.tokens.set(r.tokenId, { tokens: r.promptTokens + r.completionTokens, lastAt: r.time });
      else {
        t.tokens += r.promptTokens + r.completionTokens;
        t.lastAt = Math.max(t.lastAt, r.time);
      }
    }
    this.#records++;
  }
}
