/**
 * Metered usage: each record counted once (by id), summed into hourly rollups;
 * queries filter and group in SQL.
 */
import type { SQLInputValue } from "node:sqlite";
import type { UsageRecord } from "../../pool/types.ts";
import type { UsageGroup, UsageQuery, UsageRepo, UsageRow } from "../types.ts";
import { CHUNK_ROWS, inChunks, type Connection } from "./connection.ts";
import type { Row } from "./rows.ts";
import type { FoldMark, FoldPosition, ProcessJournal } from "./usage-journal.ts";
import { UsageSums } from "./usage-sums.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** A record id replayed within this window is recognised; older ids are forgotten to bound the table. */
export const USAGE_DEDUP_WINDOW_MS = 7 * DAY;

/** Rows per `usage_seen` insert: one statement marks a batch's ids and names the new ones. */
const SEEN_ROWS = 32;
/** The statement for each row count, built once (the request path asks for them all the time). */
const SEEN_SQL = Array.from({ length: SEEN_ROWS + 1 }, (_, rows) => `INSERT OR IGNORE INTO usage_seen (id, seen_at) VALUES ${Array(rows).fill("(?, ?)").join(", ")} RETURNING id`);
const ROLLUP_SQL = `INSERT INTO usage_hourly
  (hour, credential_id, token_id, model, requests, prompt_tokens, completion_tokens, cost_usd)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (hour, credential_id, token_id, model) DO UPDATE SET
    requests = requests + excluded.requests,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    cost_usd = cost_usd + excluded.cost_usd`;

/** A new record's tokens, charged to its client token (lastUsedAt never goes back for a replayed old record). */
const TOKEN_SQL = "UPDATE tokens SET used_tokens = used_tokens + ?, last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?";

/** The SQL expression each grouping selects; a time bucket is named `bucket`. */
const GROUP_EXPRESSIONS: Record<UsageGroup, string> = {
  credential: "credential_id",
  token: "token_id",
  model: "model",
  hour: "hour",
  day: `hour - (hour % ${DAY})`,
};

function buildQuery(q: UsageQuery): { sql: string; params: SQLInputValue[] } {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  // A rollup is in range when its hour overlaps [from, to), as in groupRollups.
  if (q.from !== undefined) {
    where.push("hour > ?");
    params.push(q.from - HOUR);
  }
  if (q.to !== undefined) {
    where.push("hour < ?");
    params.push(q.to);
  }
  if (q.credentialId !== undefined) {
    where.push("credential_id = ?");
    params.push(q.credentialId);
  }
  if (q.tokenId !== undefined) {
    where.push("token_id = ?");
    params.push(q.tokenId);
  }
  if (q.model !== undefined) {
    where.push("model = ?");
    params.push(q.model);
  }
  const groups = [...new Set(q.groupBy ?? [])];
  const select: string[] = [];
  for (const g of groups) {
    if (g === "hour" || g === "day") continue;
    select.push(`${GROUP_EXPRESSIONS[g]} AS ${g}`);
  }
  // Like groupRollups, the last time grouping asked for names the bucket.
  const timeGroups = groups.filter((g) => g === "hour" || g === "day");
  const lastTime = timeGroups.at(-1);
  if (lastTime !== undefined) select.push(`${GROUP_EXPRESSIONS[lastTime]} AS bucket`);
  const groupBy = groups.map((g) => GROUP_EXPRESSIONS[g]);
  const sql =
    `SELECT ${[...select, "sum(requests) AS requests", "sum(prompt_tokens) AS prompt_tokens", "sum(completion_tokens) AS completion_tokens", "sum(cost_usd) AS cost_usd"].join(", ")}` +
    " FROM usage_hourly" +
    (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
    (groupBy.length > 0 ? ` GROUP BY ${groupBy.join(", ")}` : " HAVING count(*) > 0") +
    (lastTime !== undefined ? " ORDER BY bucket" : groupBy.length > 0 ? ` ORDER BY ${groupBy.join(", ")}` : "");
  return { sql, params };
}

function toUsageRow(row: Row, groups: readonly UsageGroup[]): UsageRow {
  const out: UsageRow = {
    requests: Number(row.requests),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    costUsd: Number(row.cost_usd),
  };
  if (groups.includes("credential")) out.credentialId = String(row.credential);
  if (groups.includes("token")) out.tokenId = row.token === "" || row.token === null ? null : String(row.token);
  if (groups.includes("model")) out.model = String(row.model);
  if (groups.includes("hour") || groups.includes("day")) out.bucket = Number(row.bucket);
  return out;
}

/** The records of `chunk` whose ids the store had not seen, now marked seen. */
function unseen(conn: Connection, chunk: readonly UsageRecord[], now: number): readonly UsageRecord[] {
  const fresh = new Set<string>();
  for (let i = 0; i < chunk.length; i += SEEN_ROWS) {
    const end = Math.min(chunk.length, i + SEEN_ROWS);
    const params: SQLInputValue[] = [];
    for (let j = i; j < end; j++) params.push(chunk[j]!.id, now);
    for (const row of conn.prepare(SEEN_SQL[end - i]!).all(...params)) fresh.add(row.id as string);
  }
  // An id twice in one batch is new once: `delete` keeps its first record only.
  return fresh.size === chunk.length ? chunk : chunk.filter((r) => fresh.delete(r.id));
}

const MARK_SQL =
  "INSERT INTO journal_folds (journal, gen, offset, at) VALUES (?, ?, ?, ?) ON CONFLICT (journal) DO UPDATE SET gen = excluded.gen, offset = excluded.offset, at = excluded.at";

/**
 * Counts records in the usage tables and charges their client tokens, in one transaction. Ids
 * already counted are skipped; with `mark` (a journal's fold, exactly-once by its position) the
 * position is recorded instead and ids are not kept.
 */
export function writeUsage(conn: Connection, records: readonly UsageRecord[], mark?: FoldMark): void {
  conn.writeQuick("record usage", () => {
    const now = Date.now();
    if (mark !== undefined) markFold(conn, mark, now);
    // A replayed record is counted once.
    const fresh = mark === undefined ? unseen(conn, records, now) : records;
    if (fresh.length > 0) writeSums(conn, UsageSums.of(fresh));
  });
}

/** Writes records a journal summed as they were appended, with where its fold got to, in one transaction. */
export function writeUsageSums(conn: Connection, sums: UsageSums, mark: FoldMark): void {
  conn.writeQuick("record usage", () => {
    markFold(conn, mark, Date.now());
    writeSums(conn, sums);
  });
}

function markFold(conn: Connection, mark: FoldMark, now: number): void {
  conn.prepare(MARK_SQL).run(mark.journal, mark.gen, mark.offset, now);
}

/** Inside a write transaction. */
function writeSums(conn: Connection, sums: UsageSums): void {
  const rollup = conn.prepare(ROLLUP_SQL);
  for (const u of sums.rollups.values()) rollup.run(u.hour, u.credentialId, u.tokenId ?? "", u.model, u.requests, u.promptTokens, u.completionTokens, u.costUsd);
  const token = conn.prepare(TOKEN_SQL);
  for (const [id, t] of sums.tokens) token.run(t.tokens, t.lastAt, id);
}

/** `journal`: where this process's records go first (usage-journal.ts); null writes them into the tables at once. */
export function sqliteUsageRepo(conn: Connection, journal: ProcessJournal | null): UsageRepo {
  return {
    async record(records: readonly UsageRecord[]) {
      if (records.length === 0) return;
      if (journal !== null) return conn.run("journal usage", () => journal.append(records));
      // The request path's batches are small: written at once, without the chunking's generator.
      if (records.length <= CHUNK_ROWS) writeUsage(conn, records);
      else for await (const chunk of inChunks(records)) writeUsage(conn, chunk);
    },
    async query(q: UsageQuery = {}) {
      journal?.foldForRead();
      const { sql, params } = buildQuery(q);
      const groups = q.groupBy ?? [];
      return conn.run("query usage", () => conn.prepare(sql).all(...params).map((row) => toUsageRow(row, groups)));
    },
  };
}

/** Where a journal's log was folded up to (null: never recorded). */
export function foldProgress(conn: Connection, journal: string): FoldPosition | null {
  const row = conn.run("read fold progress", () => conn.prepare("SELECT gen, offset FROM journal_folds WHERE journal = ?").get(journal));
  return row === undefined ? null : { gen: Number(row.gen), offset: Number(row.offset) };
}

/** Forgets record ids older than the dedup window, and fold marks as old. Inside a write transaction. */
export function pruneUsageSeen(conn: Connection, now: number): void {
  conn.prepare("DELETE FROM usage_seen WHERE seen_at < ?").run(now - USAGE_DEDUP_WINDOW_MS);
  conn.prepare("DELETE FROM journal_folds WHERE at < ?").run(now - USAGE_DEDUP_WINDOW_MS);
}
