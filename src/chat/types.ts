/** Public types of the chat client. */
import type { Pool } from "../pool/pool.ts";
import type { ChatMessage, Conversation } from "../store/types.ts";
import type { ChatBackend } from "./backend.ts";

export type { ChatMessage, Conversation };

export interface ChatClientOptions {
  pool: Pool;
  /** The model to ask (per message: `sendMessage(text, { model })`). Backends may have a default. */
  model?: string;
  /** Sent first on every turn (not stored: it is the client's configuration). The web backend has none and ignores it. */
  systemMessage?: string | null;
  /** The model's context window as the client may use it (default 8192). */
  maxContextTokens?: number;
  /** Tokens kept free for the reply, and asked as the reply's limit (default 1024). */
  maxResponseTokens?: number;
  /** A registered backend's name (`api`, the default, or `web`), or a backend object. */
  backend?: string | ChatBackend;
  /** Default time limit of one message (none by default: the pool's deadline applies). */
  timeoutMs?: number;
  /** Extra chat completion parameters sent on every turn (`temperature`, ...). */
  completionParams?: Record<string, unknown>;
}

export interface ChatProgress {
  /** The new piece of the reply. */
  delta: string;
  /** The reply so far. */
  text: string;
}

export interface SendMessageOptions {
  /** Continue this conversation (from its newest message unless `parentMessageId` says otherwise). */
  conversationId?: string;
  /** Reply to this message (its conversation is found from it when `conversationId` is not given). */
  parentMessageId?: string;
  systemMessage?: string | null;
  model?: string;
  /** Called with each piece of the reply as it comes; if it throws, the turn ends with that error and nothing is stored. */
  onProgress?: (progress: ChatProgress) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
  completionParams?: Record<string, unknown>;
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when counted locally because the backend reported none. */
  estimated: boolean;
}

/** The reply to a message; it and the question are both stored when this is returned. */
export interface ChatReply {
  id: string;
  conversationId: string;
  /** The question this answers. */
  parentMessageId: string;
  role: "assistant";
  text: string;
  usage: ChatUsage;
  model: string;
  /** The credential that answered, masked (`sk-…abcd`); null when none did. */
  credential: string | null;
}

/** Token totals of one client id, across its conversations. */
export interface ClientUsage {
  messages: number;
  promptTokens: number;
  completionTokens: number;
  /** Of those, tokens counted locally (the backend reported none). */
  estimatedTokens: number;
}

export interface ChatSession {
  readonly clientId: string;
  /** Sends to the client's current conversation (starting one if it has none). */
  send(text: string, options?: Omit<SendMessageOptions, "conversationId" | "parentMessageId">): Promise<ChatReply>;
  /** Starts a new conversation; the old one is kept and listed. Returns the new one. */
  reset(): Promise<Conversation>;
  /** The current conversation's messages, oldest first (empty when it has none). */
  history(options?: { limit?: number }): Promise<ChatMessage[]>;
  /** The client's conversations, most recent first. */
  conversations(options?: { limit?: number }): Promise<Conversation[]>;
  /** Makes one of the client's conversations the current one. */
  switch(conversationId: string): Promise<Conversation>;
  current(): Promise<Conversation | null>;
  usage(): Promise<ClientUsage>;
}
