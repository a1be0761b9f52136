import { RATE_WINDOW_MS, type ClientToken, type TokenRepo } from "../types.ts";

export function memoryTokens(guard: () => void): TokenRepo {
  const byId = new Map<string, ClientToken>();
  /** token id → instance → its last shared window. */
  const rates = new Map<string, Map<string, { window: number[]; at: number }>>();
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
    async shareRate(id, instance, window, now) {
      guard();
      let shares = rates.get(id);
      if (shares === undefined) rates.set(id, (shares = new Map()));
      shares.set(instance, { window: [...window], at: now });
      const others: number[][] = [];
      for (const [other, share] of shares) {
        if (share.at <= now - RATE_WINDOW_MS) shares.delete(other);
        else if (other !== instance) others.push([...share.window]);
      }
      return others;
    },
  };
}
