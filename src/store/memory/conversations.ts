import type { ChatMessage, Conversation, ConversationRepo } from "../types.ts";

export function memoryConversations(guard: () => void): ConversationRepo {
  const convs = new Map<string, Conversation>();
  const messages = new Map<string, ChatMessage>();
  const current = new Map<string, string>();
  return {
    async create(c) {
      guard();
      convs.set(c.id, { ...c });
    },
    async get(id) {
      guard();
      const c = convs.get(id);
      return c === undefined ? null : { ...c };
    },
    async list(q = {}) {
      guard();
      const out = [...convs.values()].filter((c) => q.clientId === undefined || c.clientId === q.clientId);
      out.sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : -1));
      return out.slice(0, q.limit ?? 100).map((c) => ({ ...c }));
    },
    async update(id, patch) {
      guard();
      const c = convs.get(id);
      if (c === undefined) return null;
      Object.assign(c, patch);
      return { ...c };
    },
    async append(conversationId, list, patch, tokens) {
      guard();
      const c = convs.get(conversationId);
      if (c === undefined) return null;
      for (const m of list) messages.set(m.id, structuredClone(m));
      Object.assign(c, patch);
      c.messageCount += list.length;
      c.promptTokens += tokens.promptTokens;
      c.completionTokens += tokens.completionTokens;
      return { ...c };
    },
    async message(id) {
      guard();
      const m = messages.get(id);
      return m === undefined ? null : structuredClone(m);
    },
    async chain(messageId, limit) {
      guard();
      const out: ChatMessage[] = [];
      let m = messages.get(messageId);
      while (m !== undefined && out.length < limit) {
        out.push(structuredClone(m));
        m = m.parentMessageId === null ? undefined : messages.get(m.parentMessageId);
      }
      return out.toReversed();
    },
    async current(clientId) {
      guard();
      return current.get(clientId) ?? null;
    },
    async setCurrent(clientId, conversationId) {
      guard();
      current.set(clientId, conversationId);
    },
  };
}
