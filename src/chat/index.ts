/** The chat client: `new ChatClient({ pool, model })`, per-client sessions, api and web backends. */
export { ChatClient, DEFAULT_MAX_CONTEXT_TOKENS, DEFAULT_MAX_RESPONSE_TOKENS } from "./client.ts";
export type { ChatClientOptions, SendMessageOptions, ChatReply, ChatProgress, ChatUsage, ChatSession, ClientUsage, ChatMessage, Conversation } from "./types.ts";
export { registerBackend, backendNames, type ChatBackend, type BackendFactory, type TurnRequest, type TurnResult } from "./backend.ts";
export { createApiBackend } from "./backends/api/api-backend.ts";
export { createWebBackend, registerWebProbe, type WebBackendOptions } from "./backends/web/web-backend.ts";
export { tokenCounter, encodingFor, TokenCounter } from "./tokens.ts";
export { ChatAbortedError, ChatTimeoutError, ContextTooLongError, ChatUpstreamError, ConversationUnavailableError } from "./errors/index.ts";
