/**
 * A client id's chat: the write-up's "one chatbot per client" (a WeChat or
 * Slack user, a group, an app user). The current conversation per client is
 * kept in the store, so a restarted process carries on where it was. A client
 * only ever reaches its own conversations.
 */
import { NotFoundError, ValidationError } from "../errors/index.ts";
import type { Pool } from "../pool/pool.ts";
import type { Conversation } from "../store/types.ts";
import type { KeyedQueue } from "./keyed-queue.ts";
import type { ChatReply, ChatSession, SendMessageOptions } from "./types.ts";
import { clientUsage } from "./usage.ts";

/** What a session needs of its client. */
export interface SessionHost {
  pool: Pool;
  /** The client's backend name: a current conversation of another backend is not continued. */
  backend: string;
  queue: KeyedQueue;
  send(text: string, options: SendMessageOptions, clientId: string): Promise<ChatReply>;
  draft(clientId: string): Conversation;
}

export function createSession(host: SessionHost, clientId: string): ChatSession {
  const repo = host.pool.store.conversations;
  const key = `client:${clientId}`;

  const current = async (): Promise<Conversation | null> => {
    const id = await repo.current(clientId);
    if (id === null) return null;
    const c = await repo.get(id);
    return c !== null && c.clientId === clientId ? c : null;
  };

  const start = async (): Promise<Conversation> => {
    const c = host.draft(clientId);
    await repo.create(c);
    await repo.setCurrent(clientId, c.id);
    return c;
  };

  /** The conversation the next message goes to; serialised per client so two first messages make one conversation. */
  const target = (): Promise<Conversation> =>
    host.queue.run(key, async () => {
      const c = await current();
      return c !== null && c.backend === host.backend ? c : start();
    });

  return {
    clientId,
    async send(text, options = {}) {
      if (typeof text !== "string" || text.trim() === "") throw new ValidationError("the message must be a non-empty string", "text");
      const c = await target();
      return host.send(text, { ...options, conversationId: c.id }, clientId);
    },
    reset() {
      return host.queue.run(key, async () => {
        const c = await current();
        // An empty current conversation is already new: don't pile up empty ones.
        if (c !== null && c.messageCount === 0 && c.backend === host.backend) return c;
        return start();
      });
    },
    async history(options = {}) {
      const c = await current();
      if (c === null || c.lastMessageId === null) return [];
      return repo.chain(c.lastMessageId, options.limit ?? 10_000);
    },
    conversations(options = {}) {
      return repo.list({ clientId, limit: options.limit ?? 100 });
    },
    switch(conversationId) {
      return host.queue.run(key, async () => {
        const c = await repo.get(conversationId);
        // Another client's conversation is reported as missing: a client never learns of others'.
        if (c === null || c.clientId !== clientId) throw new NotFoundError("conversation", conversationId);
        await repo.setCurrent(clientId, c.id);
        return c;
      });
    },
    current,
    usage: () => clientUsage(host.pool, clientId),
  };
}
