import { KeypoolError } from "../../errors/keypool-error.ts";

/** The reply did not complete within `timeoutMs`: nothing of the turn was stored. */
export class ChatTimeoutError extends KeypoolError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, cause?: unknown) {
    super("KP_CHAT_TIMEOUT", `keypool chat: no complete reply within ${timeoutMs} ms; nothing of this turn was stored`, { status: 504, type: "timeout", cause });
    this.name = "ChatTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}
