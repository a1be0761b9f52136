import { KeypoolError } from "../../errors/keypool-error.ts";

/** Even the new message (with the system message) does not fit the context budget. */
export class ContextTooLongError extends KeypoolError {
  readonly tokens: number;
  readonly budget: number;
  constructor(tokens: number, budget: number) {
    super(
      "KP_CHAT_CONTEXT_TOO_LONG",
      `keypool chat: the message needs ${tokens} tokens (with the system message) but the context budget is ${budget} (maxContextTokens - maxResponseTokens); shorten it or raise maxContextTokens`,
      { status: 400, type: "invalid_request_error", param: "text" },
    );
    this.name = "ContextTooLongError";
    this.tokens = tokens;
    this.budget = budget;
  }
}
