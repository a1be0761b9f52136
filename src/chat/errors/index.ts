export { ChatAbortedError } from "./aborted-error.ts";
export { ChatTimeoutError } from "./timeout-error.ts";
export { ContextTooLongError } from "./context-too-long-error.ts";
export { ChatUpstreamError } from "./chat-upstream-error.ts";
export { ConversationUnavailableError } from "./conversation-error.ts";
