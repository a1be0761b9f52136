import { KeypoolError } from "../../errors/keypool-error.ts";

/** The caller aborted the message (its signal fired): nothing of the turn was stored. */
export class ChatAbortedError extends KeypoolError {
  constructor(cause?: unknown) {
    super("KP_CHAT_ABORTED", "keypool chat: the message was aborted by the caller; nothing of this turn was stored", { status: 499, type: "aborted", cause });
    this.name = "ChatAbortedError";
  }
}
