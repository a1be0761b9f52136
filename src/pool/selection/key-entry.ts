import type { CredentialRecord } from "../types.ts";
import type { RateLimitInfo } from "../ratelimit-headers.ts";

/** What the upstream last said about a key's remaining rate limit for one model. */
export interface Headroom {
  info: RateLimitInfo;
  /** When the counts were seen; the reset durations count from here. */
  at: number;
  /** In-flight requests when the counts were seen (already counted by the upstream). */
  inFlightAt: number;
}

/** A credential as one instance holds it: the stored record plus live, local counters. */
export interface KeyEntry {
  readonly id: string;
  record: CredentialRecord;
  inFlight: number;
  /** Sequence number of the last pick, for fair tie-breaks. */
  lastPick: number;
  /** Per model ("" when the request named none). */
  headroom: Map<string, Headroom>;
  /** Local holds per model ("*" for every model) until a time: known RPM/TPM limits, exhausted headroom. */
  holds: Map<string, number>;
  /** Earliest time this entry is scheduled to be looked at again. */
  wakeAt: number;
}

export function newKeyEntry(record: CredentialRecord): KeyEntry {
  return { id: record.id, record, inFlight: 0, lastPick: 0, headroom: new Map(), holds: new Map(), wakeAt: 0 };
}

/** The time until which `model` is held locally on this entry (0 = not held). */
export function holdUntil(e: KeyEntry, model: string | null): number {
  if (e.holds.size === 0) return 0; // the common case, without two map lookups
  const all = e.holds.get("*") ?? 0;
  return model === null ? all : Math.max(all, e.holds.get(model) ?? 0);
}
