/**
 * One signal for a turn: the caller's, the time limit's and the client's own
 * (a failing `onProgress` callback ends the turn), composed; and the one place
 * that says which of them ended the turn.
 */
import { ChatAbortedError, ChatTimeoutError } from "./errors/index.ts";

export interface TurnSignal {
  signal: AbortSignal;
  /** Ends the turn with `err` (thrown to the caller as it is). */
  fail(err: unknown): void;
  /** The error to throw when the turn failed: the failure, aborted or timed out if one fired, else `err`. */
  explain(err: unknown): unknown;
  /** Throws if any fired. */
  check(): void;
}

export function turnSignal(user: AbortSignal | undefined, timeoutMs: number | undefined): TurnSignal {
  const own = new AbortController();
  const timeout = timeoutMs === undefined ? null : AbortSignal.timeout(timeoutMs);
  const parts = [own.signal, user, timeout].filter((s): s is AbortSignal => s != null);
  const signal = parts.length === 1 ? own.signal : AbortSignal.any(parts);
  const explain = (err: unknown): unknown => {
    if (own.signal.aborted) return own.signal.reason;
    if (user?.aborted) return err instanceof ChatAbortedError ? err : new ChatAbortedError(user.reason ?? err);
    if (timeout?.aborted) return err instanceof ChatTimeoutError ? err : new ChatTimeoutError(timeoutMs!, err);
    return err;
  };
  return {
    signal,
    fail: (err) => own.abort(err),
    explain,
    check() {
      if (signal.aborted) throw explain(signal.reason);
    },
  };
}
