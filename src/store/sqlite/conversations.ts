/** Conversations and their messages; `append` stores a question and its reply in one transaction. */
import type { SQLInputValue } from "node:sqlite";
import type { ChatMessage, ChatRole, Conversation, ConversationPatch, ConversationRepo } from "../types.ts";
import type { Connection } from "./connection.ts";
import type { Row } from "./rows.ts";

const DEFAULT_LIMIT = 100;

/** Conversation field → column; `id` and `createdAt` never change. */
const PATCH_COLUMNS: Record<keyof ConversationPatch, string> = {
  clientId: "client_id",
  backend: "backend",
  title: "title",
  credentialId: "credential_id",
  remoteId: "remote_id",
  lastMessageId: "last_message_id",
  messageCount: "message_count",
  promptTokens: "prompt_tokens",
  completionTokens: "completion_tokens",
  updatedAt: "updated_at",
};

const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function rowToConversation(row: Row): Conversation {
  return {
    id: String(row.id),
    clientId: textOrNull(row.client_id),
    backend: String(row.backend),
    title: textOrNull(row.title),
    credentialId: textOrNull(row.credential_id),
    remoteId: textOrNull(row.remote_id),
    lastMessageId: textOrNull(row.last_message_id),
    messageCount: Number(row.message_count),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function rowToMessage(row: Row): ChatMessage {
  return {
    id: String(row.id),
    conversationId: String(row.conversation_id),
    parentMessageId: textOrNull(row.parent_message_id),
    role: String(row.role) as ChatRole,
    text: String(row.text),
    model: textOrNull(row.model),
    credentialId: textOrNull(row.credential_id),
    usage: row.usage === null ? null : (JSON.parse(String(row.usage)) as ChatMessage["usage"]),
    remoteId: textOrNull(row.remote_id),
    createdAt: Number(row.created_at),
  };
}

const CREATE_SQL = `INSERT OR REPLACE INTO conversations
  (id, client_id, backend, title, credential_id, remote_id, last_message_id, message_count, prompt_tokens, completion_tokens, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const MESSAGE_SQL = `INSERT OR REPLACE INTO messages
  (id, conversation_id, parent_message_id, role, text, model, credential_id, usage, remote_id, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

// Walks parent ids from the newest message, at most ?2 steps; the answer is oldest first.
const CHAIN_SQL = `WITH RECURSIVE chain (n, id, parent) AS (
    SELECT 1, id, parent_message_id FROM messages WHERE id = ?1 AND ?2 > 0
    UNION ALL
    SELECT chain.n + 1, m.id, m.parent_message_id FROM chain JOIN messages m ON m.id = chain.parent WHERE chain.n < ?2
  )
  SELECT m.* FROM chain JOIN messages m ON m.id = chain.id ORDER BY chain.n DESC`;

/** An append's counters are added in SQL, so concurrent appends from two processes both count. */
const COUNT_SQL = "UPDATE conversations SET message_count = message_count + ?, prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ? WHERE id = ?";

export function sqliteConversationRepo(conn: Connection): ConversationRepo {
  /** Applies a patch and returns the conversation; null when it is gone. */
  const patchOne = (id: string, patch: ConversationPatch): Conversation | null => {
    const columns: string[] = [];
    const values: SQLInputValue[] = [];
    for (const [field, column] of Object.entries(PATCH_COLUMNS)) {
      const value = (patch as Record<string, string | number | null | undefined>)[field];
      if (value === undefined) continue;
      columns.push(`${column} = ?`);
      values.push(value);
    }
    const sql =
      columns.length === 0
        ? "SELECT * FROM conversations WHERE id = ?"
        : `UPDATE conversations SET ${columns.join(", ")} WHERE id = ? RETURNING *`;
    const row = conn.prepare(sql).get(...values, id);
    return row === undefined ? null : rowToConversation(row);
  };

  return {
    async create(c) {
      await conn.writePatiently("create conversation", () =>
        conn
          .prepare(CREATE_SQL)
          .run(c.id, c.clientId, c.backend, c.title, c.credentialId, c.remoteId, c.lastMessageId, c.messageCount, c.promptTokens, c.completionTokens, c.createdAt, c.updatedAt),
      );
    },
    async get(id) {
      return conn.run("get conversation", () => {
        const row = conn.prepare("SELECT * FROM conversations WHERE id = ?").get(id);
        return row === undefined ? null : rowToConversation(row);
      });
    },
    async list(q = {}) {
      const limit = q.limit ?? DEFAULT_LIMIT;
      const bounded = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : -1;
      const where = q.clientId === undefined ? "" : "WHERE client_id = ? ";
      const sql = `SELECT * FROM conversations ${where}ORDER BY updated_at DESC, id DESC LIMIT ?`;
      const params: SQLInputValue[] = q.clientId === undefined ? [bounded] : [q.clientId, bounded];
      return conn.run("list conversations", () => conn.prepare(sql).all(...params).map(rowToConversation));
    },
    async update(id, patch) {
      return conn.writePatiently("update conversation", () => patchOne(id, patch));
    },
    async append(conversationId, messages, patch, tokens) {
      return conn.writePatiently("append messages", () => {
        conn.prepare(COUNT_SQL).run(messages.length, tokens.promptTokens, tokens.completionTokens, conversationId);
        const updated = patchOne(conversationId, patch);
        if (updated === null) return null; // gone: nothing is stored
        const insert = conn.prepare(MESSAGE_SQL);
        for (const m of messages) {
          const usage = m.usage === null ? null : JSON.stringify(m.usage);
          insert.run(m.id, m.conversationId, m.parentMessageId, m.role, m.text, m.model, m.credentialId, usage, m.remoteId, m.createdAt);
        }
        return updated;
      });
    },
    async message(id) {
      return conn.run("get message", () => {
        const row = conn.prepare("SELECT * FROM messages WHERE id = ?").get(id);
        return row === undefined ? null : rowToMessage(row);
      });
    },
    async chain(messageId, limit) {
      const steps = Number.isFinite(limit) ? Math.floor(limit) : Number.MAX_SAFE_INTEGER;
      return conn.run("read message chain", () => conn.prepare(CHAIN_SQL).all(messageId, steps).map(rowToMessage));
    },
    async current(clientId) {
      return conn.run("get current conversation", () => {
        const row = conn.prepare("SELECT conversation_id FROM current_conversations WHERE client_id = ?").get(clientId);
        return row === undefined ? null : String(row.conversation_id);
      });
    },
    async setCurrent(clientId, conversationId) {
      await conn.writePatiently("set current conversation", () =>
        conn
          .prepare("INSERT INTO current_conversations (client_id, conversation_id) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET conversation_id = excluded.conversation_id")
          .run(clientId, conversationId),
      );
    },
  };
}
