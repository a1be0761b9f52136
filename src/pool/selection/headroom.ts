/**
 * Headroom: how much of a key's rate limit is left for a model, from the
 * `x-ratelimit-remaining-*` headers of its last answer, less what is in flight.
 */
import type { KeyEntry } from "./key-entry.ts";

/** Requests (or tokens) estimated left, and when the window resets; null fields when unknown. */
export interface HeadroomEstimate {
  /** 0..1: the smaller of the request and token shares left; 1 when nothing is known. */
  fraction: number;
  /** The key has nothing left for this model until `resetAt`. */
  exhausted: boolean;
  resetAt: number;
}

export function estimateHeadroom(e: KeyEntry, model: string | null, now: number): HeadroomEstimate {
  const h = e.headroom.get(model ?? "");
  if (h === undefined) return { fraction: 1, exhausted: false, resetAt: 0 };
  const { info, at } = h;
  let fraction = 1;
  let exhausted = false;
  let resetAt = 0;
  if (info.remainingRequests !== null) {
    const reset = at + (info.resetRequestsMs ?? 60_000);
    if (now < reset) {
      const left = info.remainingRequests - e.inFlight;
      const limit = info.limitRequests ?? Math.max(info.remainingRequests, 1);
      fraction = Math.min(fraction, Math.max(0, left) / Math.max(limit, 1));
      if (left <= 0) {
        exhausted = true;
        resetAt = Math.max(resetAt, reset);
      }
    }
  }
  if (info.remainingTokens !== null) {
    const reset = at + (info.resetTokensMs ?? 60_000);
    if (now < reset) {
      const limit = info.limitTokens ?? Math.max(info.remainingTokens, 1);
      fraction = Math.min(fraction, Math.max(0, info.remainingTokens) / Math.max(limit, 1));
      if (info.remainingTokens <= 0) {
        exhausted = true;
        resetAt = Math.max(resetAt, reset);
      }
    }
  }
  return { fraction, exhausted, resetAt };
}
