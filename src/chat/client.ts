/**
 * The chat client: conversations kept in the pool's store, sent through a
 * backend. One message at a time per conversation, in order; the question
 * and the reply are stored together, atomically, before `sendMessage`
 * returns; an abort or timeout stores nothing.
 */
import { randomUUID } from "node:crypto";
import { ConfigError, NotFoundError, ValidationError } from "../errors/index.ts";
import type { Pool } from "../pool/pool.ts";
import type { AppendPatch, ChatMessage, Conversation } from "../store/types.ts";
import { timeOrderedId } from "../util/ids.ts";
import { backendFor, type ChatBackend, type TurnResult } from "./backend.ts";
import { DEFAULT_BACKEND, registerBuiltinBackends } from "./backends/builtin.ts";
import { ConversationUnavailableError } from "./errors/index.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import { createSession, type SessionHost } from "./session.ts";
import { tokenCounter } from "./tokens.ts";
import { turnSignal, type TurnSignal } from "./turn-signal.ts";
import type { ChatClientOptions, ChatReply, ChatSession, SendMessageOptions } from "./types.ts";
import { meterTurn, turnUsage } from "./usage.ts";

export const DEFAULT_MAX_CONTEXT_TOKENS = 8192;
export const DEFAULT_MAX_RESPONSE_TOKENS = 1024;

/** Per pool, so that every client on one pool queues on the same conversations. */
const queues = new WeakMap<Pool, KeyedQueue>();

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(name, `must be a positive integer, got ${v}`);
  return v;
}

/** A short title from the first message. */
export function titleOf(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= 60 ? flat : `${flat.slice(0, 59).trimEnd()}…`;
}

export class ChatClient {
  readonly pool: Pool;
  readonly backend: ChatBackend;
  readonly model: string;
  readonly systemMessage: string | null;
  readonly maxContextTokens: number;
  readonly maxResponseTokens: number;
  readonly #timeoutMs: number | undefined;
  readonly #completionParams: Record<string, unknown>;
  readonly #queue: KeyedQueue;
  readonly #host: SessionHost;

  constructor(options: ChatClientOptions) {
    if (options?.pool === undefined) throw new ConfigError("pool", "a ChatClient needs a pool: new ChatClient({ pool: await createPool(...), model })");
    this.pool = options.pool;
    registerBuiltinBackends();
    const backend = options.backend ?? DEFAULT_BACKEND;
    this.backend = typeof backend === "string" ? backendFor(this.pool, backend) : backend;
    const model = options.model ?? this.backend.defaultModel;
    if (model === undefined || model === "") throw new ConfigError("model", `the ${this.backend.name} chat backend needs a model`);
    this.model = model;
    this.systemMessage = options.systemMessage ?? null;
    this.maxContextTokens = positiveInt("maxContextTokens", options.maxContextTokens, DEFAULT_MAX_CONTEXT_TOKENS);
    this.maxResponseTokens = positiveInt("maxResponseTokens", options.maxResponseTokens, DEFAULT_MAX_RESPONSE_TOKENS);
    if (this.maxResponseTokens >= this.maxContextTokens) throw new ConfigError("maxResponseTokens", `must be below maxContextTokens (${this.maxContextTokens})`);
    if (options.timeoutMs !== undefined) positiveInt("timeoutMs", options.timeoutMs, 0);
    this.#timeoutMs = options.timeoutMs;
    this.#completionParams = { ...options.completionParams };
    let queue = queues.get(this.pool);
    if (queue === undefined) queues.set(this.pool, (queue = new KeyedQueue()));
    this.#queue = queue;
    this.#host = {
      pool: this.pool,
      backend: this.backend.name,
      queue: this.#queue,
      send: (text, opts, clientId) => this.#send(text, opts, clientId),
      draft: (clientId) => this.#draft(clientId),
    };
  }

  /** Sends a message and resolves with the stored reply. */
  sendMessage(text: string, options: SendMessageOptions = {}): Promise<ChatReply> {
    return this.#send(text, options, null);
  }

  /** The chat of one client id (a user, a group, an app user): its own current conversation. */
  session(clientId: string): ChatSession {
    if (typeof clientId !== "string" || clientId === "") throw new ValidationError("clientId must be a non-empty string", "clientId");
    return createSession(this.#host, clientId);
  }

  /** A stored conversation, or null. */
  conversation(id: string): Promise<Conversation | null> {
    return this.pool.store.conversations.get(id);
  }

  /** The messages leading to `messageId` (default: the conversation's newest), oldest first. */
  async history(conversationId: string, options: { messageId?: string; limit?: number } = {}): Promise<ChatMessage[]> {
    const repo = this.pool.store.conversations;
    const conv = await repo.get(conversationId);
    if (conv === null) throw new NotFoundError("conversation", conversationId);
    const head = options.messageId ?? conv.lastMessageId;
    return head === null ? [] : repo.chain(head, options.limit ?? 10_000);
  }

  #draft(clientId: string | null): Conversation {
    const now = Date.now();
    return {
      id: timeOrderedId("conv", now),
      clientId,
      backend: this.backend.name,
      title: null,
      credentialId: null,
      remoteId: null,
      lastMessageId: null,
      messageCount: 0,
      promptTokens: 0,
      completionTokens: 0,
      createdAt: now,
      updatedAt: now,
    };
  }

  async #send(text: string, o: SendMessageOptions, clientId: string | null): Promise<ChatReply> {
    if (typeof text !== "string" || text.trim() === "") throw new ValidationError("the message must be a non-empty string", "text");
    const ts = turnSignal(o.signal, o.timeoutMs ?? this.#timeoutMs);
    try {
      ts.check();
      let conversationId = o.conversationId ?? null;
      if (conversationId === null && o.parentMessageId !== undefined) {
        const parent = await this.pool.store.conversations.message(o.parentMessageId);
        if (parent === null) throw new NotFoundError("message", o.parentMessageId);
        conversationId = parent.conversationId;
      }
      const draft = conversationId === null ? this.#draft(clientId) : null;
      const id = conversationId ?? draft!.id;
      return await this.#queue.run(`conv:${id}`, () => this.#turn(text, o, clientId, draft ?? id, ts), ts.signal);
    } catch (err) {
      throw ts.explain(err);
    }
  }

  async #load(id: string, clientId: string | null): Promise<Conversation> {
    const conv = await this.pool.store.conversations.get(id);
    if (conv === null) throw new NotFoundError("conversation", id);
    if (clientId !== null && conv.clientId !== clientId) throw new ConversationUnavailableError(id, "it belongs to another client", 403);
    if (conv.backend !== this.backend.name) throw new ConversationUnavailableError(id, `it was held on the ${conv.backend} backend, this client uses ${this.backend.name}`);
    return conv;
  }

  /** One turn, inside the conversation's queue. */
  async #turn(text: string, o: SendMessageOptions, clientId: string | null, target: Conversation | string, ts: TurnSignal): Promise<ChatReply> {
    ts.check();
    const repo = this.pool.store.conversations;
    const isNew = typeof target !== "string";
    const conv = isNew ? target : await this.#load(target, clientId);
    const parentId = o.parentMessageId ?? conv.lastMessageId;
    let parent: ChatMessage | null = null;
    if (parentId !== null) {
      parent = await repo.message(parentId);
      if (parent === null || parent.conversationId !== conv.id) throw new NotFoundError("message", `${parentId} (in conversation ${conv.id})`);
    }
    const model = o.model ?? this.model;
    const counter = await tokenCounter(model);
    const questionId = randomUUID();
    let soFar = "";
    const result: TurnResult = await this.backend.turn({
      conversation: conv,
      isNew,
      parent,
      questionId,
      text,
      system: o.systemMessage !== undefined ? o.systemMessage : this.systemMessage,
      model,
      maxContextTokens: this.maxContextTokens,
      maxResponseTokens: this.maxResponseTokens,
      completionParams: { ...this.#completionParams, ...o.completionParams },
      conversations: repo,
      counter,
      signal: ts.signal,
      onDelta: (delta) => {
        soFar += delta;
        try {
          o.onProgress?.({ delta, text: soFar });
        } catch (err) {
          // The caller's callback failed: the turn ends with its error, and no credential is blamed.
          ts.fail(err);
        }
      },
    });
    const usage = turnUsage(result, counter);
    const now = Date.now();
    const replyId = randomUUID();
    const meter = { replyId, model: result.model, credentialId: result.credentialId, usage, costUsd: result.costUsd, time: now };
    if (ts.signal.aborted) {
      // The reply came, but the caller is gone: nothing is stored; the tokens were spent all the same.
      await meterTurn(this.pool, { ...meter, clientId: null });
      ts.check();
    }
    const question: ChatMessage = {
      id: questionId,
      conversationId: conv.id,
      parentMessageId: parent?.id ?? null,
      role: "user",
      text,
      model: result.model,
      credentialId: result.credentialId,
      usage: null,
      remoteId: result.remote?.questionId ?? null,
      createdAt: now,
    };
    const reply: ChatMessage = {
      id: replyId,
      conversationId: conv.id,
      parentMessageId: questionId,
      role: "assistant",
      text: result.text,
      model: result.model,
      credentialId: result.credentialId,
      usage,
      remoteId: result.remote?.replyId ?? null,
      createdAt: now,
    };
    const patch: AppendPatch = { lastMessageId: reply.id, updatedAt: now };
    if (conv.title === null) patch.title = titleOf(text);
    if (result.remote !== undefined) {
      patch.remoteId = result.remote.conversationId;
      patch.credentialId = result.credentialId;
    }
    if (isNew) await repo.create(conv);
    const stored = await repo.append(conv.id, [question, reply], patch, usage);
    if (stored === null) throw new NotFoundError("conversation", conv.id);
    await meterTurn(this.pool, { ...meter, clientId: conv.clientId });
    return {
      id: reply.id,
      conversationId: conv.id,
      parentMessageId: questionId,
      role: "assistant",
      text: result.text,
      usage,
      model: result.model,
      credential: result.credentialId === null ? null : (this.pool.get(result.credentialId)?.key ?? null),
    };
  }
}
