import type { ClientToken, TokenRepo } from "../types.ts";

export function memoryTokens(guard: () => void): TokenRepo {
  const byId = new Map<string, ClientToken>();
  const copy = (t: ClientToken | undefined): ClientToken | null => (t === undefined ? null : structuredClone(t));
  return {
    async create(token) {
      guard();
      byId.set(token.id, structuredClone(token));
    },
    async list() {
      guard();
      return [...byId.values()].map((t) => structuredClone(t)).sort((a, b) => a.createdAt - b.createdAt);
    },
    async get(id) {
      guard();
      return copy(byId.get(id));
    },
    async findByHash(hash) {
      guard();
      for (const t of byId.values()) if (t.hash === hash) return copy(t);
      return null;
    },
    async revoke(id, at) {
      guard();
      const t = byId.get(id);
      if (t === undefined) return null;
      t.revokedAt ??= at;
      return copy(t);
    },
    async addUsage(id, tokens, at) {
      guard();
      const t = byId.get(id);
      if (t === undefined) return null;
      t.usedTokens += tokens;
      t.lastUsedAt = at;
      return t.usedTokens;
    },
  };
}
