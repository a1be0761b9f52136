/**
 * Whether a failed attempt goes to another credential. Pure. A key's own fault
 * (invalid, out of quota, rate limited, lacking the model) always fails over
 * while untried keys and time remain: the caller never pays for a bad key.
 * Ambiguous faults cost time, so they draw on a bounded retry budget.
 */
import { isAmbiguous, isFailover, type OutcomeKind } from "./outcome.ts";

export interface RetryLimits {
  /** Retries after ambiguous faults (5xx, timeouts, resets). */
  maxRetries: number;
  /** Hard cap on attempts of one request, whatever the reason. */
  maxAttempts: number;
}

export interface RetryState {
  /** Attempts made so far, the failed one included. */
  attempts: number;
  /** Ambiguous faults so far, the failed one included. */
  faults: number;
  /** Keys that answered model_not_found so far. */
  modelMisses: number;
  deadline: number;
  now: number;
  /** A response was already handed to the caller (a stream started). */
  committed: boolean;
  /** The caller aborted. */
  aborted: boolean;
}

export type RetryDecision = { retry: true } | { retry: false; why: "not_retryable" | "committed" | "aborted" | "deadline" | "retry_budget" | "attempts" | "model_unknown" };

export function decideRetry(kind: OutcomeKind, s: RetryState, limits: RetryLimits): RetryDecision {
  if (!isFailover(kind)) return { retry: false, why: "not_retryable" };
  if (s.aborted) return { retry: false, why: "aborted" };
  if (s.committed) return { retry: false, why: "committed" };
  if (s.now >= s.deadline) return { retry: false, why: "deadline" };
  if (s.attempts >= limits.maxAttempts) return { retry: false, why: "attempts" };
  if (isAmbiguous(kind) && s.faults > limits.maxRetries) return { retry: false, why: "retry_budget" };
  // Two keys lacking the same model: most likely nobody has it; the caller should hear so.
  if (kind === "model_missing" && s.modelMisses >= 2) return { retry: false, why: "model_unknown" };
  return { retry: true };
}
