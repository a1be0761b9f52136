/**
 * The one interface every chat backend implements, and the registry they
 * join. The client core only ever talks to a `ChatBackend`; it never names
 * one (backends register themselves in backends/builtin.ts, users may add theirs).
 */
import { ConfigError } from "../errors/index.ts";
import type { Pool } from "../pool/pool.ts";
import type { TokenUsage } from "../pool/types.ts";
import type { ChatMessage, Conversation, ConversationRepo } from "../store/types.ts";
import type { TokenCounter } from "./tokens.ts";

export interface TurnRequest {
  /** The stored conversation, or a draft not yet stored when this turn starts it. */
  conversation: Conversation;
  isNew: boolean;
  /** The message replied to (null for the first turn): its `remoteId` continues a server-side conversation. */
  parent: ChatMessage | null;
  /** Our id of the new user message (a UUID; backends that need one may send it). */
  questionId: string;
  text: string;
  system: string | null;
  model: string;
  maxContextTokens: number;
  maxResponseTokens: number;
  completionParams: Readonly<Record<string, unknown>>;
  /** The store's conversations, for backends that send the history themselves. */
  conversations: ConversationRepo;
  counter: TokenCounter;
  signal: AbortSignal;
  /** Called with each new piece of the reply, in order. */
  onDelta(delta: string): void;
}

export interface TurnResult {
  text: string;
  /** The model that answered (as the backend named it). */
  model: string;
  /** The credential that answered, null when none did. */
  credentialId: string | null;
  /** Usage as the backend reported it; null when it gave none (the client then counts). */
  usage: TokenUsage | null;
  /** Prompt tokens as counted locally, used when `usage` is null. */
  countedPromptTokens: number;
  /** Cost of the turn; null to price it from the pool's table. */
  costUsd: number | null;
  /** Set by backends whose server keeps the conversation: it then stays on `credentialId`. */
  remote?: { conversationId: string; questionId: string; replyId: string };
}

export interface ChatBackend {
  readonly name: string;
  /** True when the server keeps the conversation (the context is not sent, and the conversation is sticky). */
  readonly remoteContext: boolean;
  /** The model used when the client names none. */
  readonly defaultModel?: string;
  turn(req: TurnRequest): Promise<TurnResult>;
}

export type BackendFactory = (pool: Pool) => ChatBackend;

const factories = new Map<string, BackendFactory>();
/** One instance per pool and name: backends keep per-pool state (queues, token caches). */
const instances = new WeakMap<Pool, Map<string, ChatBackend>>();

export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

export function backendNames(): string[] {
  return [...factories.keys()];
}

/** The backend `name` for `pool` (created on first use); throws naming the known ones. */
export function backendFor(pool: Pool, name: string): ChatBackend {
  let byName = instances.get(pool);
  if (byName === undefined) instances.set(pool, (byName = new Map()));
  let backend = byName.get(name);
  if (backend === undefined) {
    const factory = factories.get(name);
    if (factory === undefined) throw new ConfigError("backend", `unknown chat backend "${name}" (known: ${backendNames().join(", ") || "none"})`);
    backend = factory(pool);
    byName.set(name, backend);
  }
  return backend;
}
