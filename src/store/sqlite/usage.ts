/**
 * Metered usage: each record counted once (by id), summed into hourly rollups;
 * queries filter and group in SQL.
 */
import type { SQLInputValue } from "node:sqlite";
import type { UsageRecord } from "../../pool/types.ts";
import type { UsageGroup, UsageQuery, UsageRepo, UsageRow } from "../types.ts";
import { hourStart } from "../usage-rollup.ts";
import { inChunks, type Connection } from "./connection.ts";
import type { Row } from "./rows.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** A record id replayed within this window is recognised; older ids are forgotten to bound the table. */
export const USAGE_DEDUP_WINDOW_MS = 7 * DAY;

const SEEN_SQL = "INSERT OR IGNORE INTO usage_seen (id, seen_at) VALUES (?, ?)";
const ROLLUP_SQL = `INSERT INTO usage_hourly
  (hour, credential_id, token_id, model, requests, prompt_tokens, completion_tokens, cost_usd)
  VALUES (?, ?, ?, ?, 1, ?, ?, ?)
  ON CONFLICT (hour, credential_id, token_id, model) DO UPDATE SET
    requests = requests + 1,
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

export function sqliteUsageRepo(conn: Connection): UsageRepo {
  return {
    async record(records: readonly UsageRecord[]) {
      for await (const chunk of inChunks(records)) {
        conn.write("record usage", () => {
          const seen = conn.prepare(SEEN_SQL);
          const rollup = conn.prepare(ROLLUP_SQL);
          const token = conn.prepare(TOKEN_SQL);
          const now = Date.now();
          for (const r of chunk) {
            if (seen.run(r.id, now).changes === 0) continue; // counted before
            rollup.run(hourStart(r.time), r.credentialId, r.tokenId ?? "", r.model, r.promptTokens, r.completionTokens, r.costUsd);
            if (r.tokenId !== null) token.run(r.promptTokens + r.completionTokens, r.time, r.tokenId);
          }
        });
      }
    },
    async query(q: UsageQuery = {}) {
      const { sql, params } = buildQuery(q);
      const groups = q.groupBy ?? [];
      return conn.run("query usage", () => conn.prepare(sql).all(...params).map((row) => toUsageRow(row, groups)));
    },
  };
}

/** Forgets record ids older than the dedup window. Inside a write transaction. */
export function pruneUsageSeen(conn: Connection, now: number): void {
  conn.prepare("DELETE FROM usage_seen WHERE seen_at < ?").run(now - USAGE_DEDUP_WINDOW_MS);
}
