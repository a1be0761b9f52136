/**
 * One signal for a turn: the caller's and the time limit's, composed; and
 * the one place that says which of them ended the turn.
 */
import { ChatAbortedError, ChatTimeoutError } from "./errors/index.ts";

export interface TurnSignal {
  signal: AbortSignal;
  /** The error to throw when the turn failed: aborted or timed out if either fired, else `err`. */
  explain(err: unknown): unknown;
  /** Throws if either fired. */
  check(): void;
}

export function turnSignal(user: AbortSignal | undefined, timeoutMs: number | undefined): TurnSignal {
  const timeout = timeoutMs === undefined ? null : AbortSignal.timeout(timeoutMs);
  const parts = [user, timeout].filter((s): s is AbortSignal => s != null);
  const signal = parts.length === 0 ? new AbortController().signal : parts.length === 1 ? parts[0]! : AbortSignal.any(parts);
  const explain = (err: unknown): unknown => {
    if (user?.aborted) return err instanceof ChatAbortedError ? err : new ChatAbortedError(user.reason ?? err);
    if (timeout?.aborted) return err instanceof ChatTimeoutError ? err : new ChatTimeoutError(timeoutMs!, err);
    return err;
  };
  return {
    signal,
    explain,
    check() {
      if (signal.aborted) throw explain(signal.reason);
    },
  };
}
