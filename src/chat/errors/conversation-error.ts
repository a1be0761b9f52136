import { KeypoolError } from "../../errors/keypool-error.ts";

/**
 * A conversation that exists but cannot take this message: it belongs to
 * another client, to another backend, or its account can no longer serve it.
 */
export class ConversationUnavailableError extends KeypoolError {
  readonly conversationId: string;
  constructor(conversationId: string, message: string, status = 409) {
    super("KP_CHAT_CONVERSATION_UNAVAILABLE", `keypool chat: conversation ${conversationId}: ${message}`, { status, type: "invalid_request_error", param: "conversationId" });
    this.name = "ConversationUnavailableError";
    this.conversationId = conversationId;
  }
}
