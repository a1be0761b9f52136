/** Gateway client tokens: looked up by hash on every request, counted atomically. */
import { RATE_WINDOW_MS, type ClientToken, type TokenRepo } from "../types.ts";
import type { Connection } from "./connection.ts";
import type { Row } from "./rows.ts";
import type { ProcessJournal } from "./usage-journal.ts";

const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function rowToToken(row: Row): ClientToken {
  return {
    id: String(row.id),
    name: String(row.name),
    hash: String(row.hash),
    hint: String(row.hint),
    models: row.models === null ? null : (JSON.parse(String(row.models)) as string[]),
    quotaTokens: nullableNumber(row.quota_tokens),
    usedTokens: Number(row.used_tokens),
    rpm: nullableNumber(row.rpm),
    expiresAt: nullableNumber(row.expires_at),
    createdAt: Number(row.created_at),
    revokedAt: nullableNumber(row.revoked_at),
    lastUsedAt: nullableNumber(row.last_used_at),
  };
}

const CREATE_SQL = `INSERT OR REPLACE INTO tokens
  (id, name, hash, hint, models, quota_tokens, used_tokens, rpm, expires_at, created_at, revoked_at, last_used_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const SHARE_SQL = "INSERT INTO token_rates (token_id, instance, window, at) VALUES (?, ?, ?, ?) ON CONFLICT (token_id, instance) DO UPDATE SET window = excluded.window, at = excluded.at";

/** `journal`: this process's usage records not yet in the tables, folded in before a read so token totals are exact. */
export function sqliteTokenRepo(conn: Connection, journal: ProcessJournal | null): TokenRepo {
  const one = (action: string, sql: string, ...params: (string | number)[]): ClientToken | null =>
    conn.run(action, () => {
      journal?.foldForRead();
      const row = conn.prepare(sql).get(...params);
      return row === undefined ? null : rowToToken(row);
    });

  return {
    async create(t) {
      const models = t.models === null ? null : JSON.stringify(t.models);
      await conn.writePatiently("create token", () =>
        conn.prepare(CREATE_SQL).run(t.id, t.name, t.hash, t.hint, models, t.quotaTokens, t.usedTokens, t.rpm, t.expiresAt, t.createdAt, t.revokedAt, t.lastUsedAt),
      );
    },
    async list() {
      journal?.foldForRead();
      return conn.run("list tokens", () => conn.prepare("SELECT * FROM tokens ORDER BY created_at, rowid").all().map(rowToToken));
    },
    async get(id) {
      return one("get token", "SELECT * FROM tokens WHERE id = ?", id);
    },
    async findByHash(hash) {
      return one("find token", "SELECT * FROM tokens WHERE hash = ? ORDER BY rowid LIMIT 1", hash);
    },
    async revoke(id, at) {
      // Revoked once: a second revoke keeps the first time.
      return conn.writePatiently("revoke token", () => {
        const row = conn.prepare("UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING *").get(at, id);
        return row === undefined ? null : rowToToken(row);
      });
    },
    async addUsage(id, tokens, at) {
      journal?.foldForRead(); // the total it returns includes this process's journaled usage
      const row = await conn.writePatiently("count token usage", () =>
        conn.prepare("UPDATE tokens SET used_tokens = used_tokens + ?, last_used_at = ? WHERE id = ? RETURNING used_tokens").get(tokens, at, id),
      );
      return row === undefined ? null : Number(row.used_tokens);
    },
    async shareRate(id, instance, window, now) {
      // A request-path write: the quick connection, which gives up after 100 ms behind another process's lock.
      return conn.writeQuick("share token rate", () => {
        conn.prepare(SHARE_SQL).run(id, instance, JSON.stringify(window), now);
        conn.prepare("DELETE FROM token_rates WHERE token_id = ? AND at <= ?").run(id, now - RATE_WINDOW_MS);
        return conn
          .prepare("SELECT window FROM token_rates WHERE token_id = ? AND instance <> ?")
          .all(id, instance)
          .map((row) => JSON.parse(row.window as string) as number[]);
      });
    },
  };
}
