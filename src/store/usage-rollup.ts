/** Hourly usage rollups and their grouping, shared by the stores that don't group in SQL. */
import type { UsageRecord } from "../pool/types.ts";
import type { UsageQuery, UsageRow } from "./types.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;

export const hourStart = (t: number): number => t - (t % HOUR);
export const dayStart = (t: number): number => t - (t % DAY);

export interface HourlyRollup {
  hour: number;
  credentialId: string;
  tokenId: string | null;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** The key a record adds to: one rollup per hour, credential, token and model. */
export function rollupKey(r: UsageRecord): string {
  return `${hourStart(r.time)}\u0000${r.credentialId}\u0000${r.tokenId ?? ""}\u0000${r.model}`;
}

export function addToRollup(into: HourlyRollup | undefined, r: UsageRecord): HourlyRollup {
  const row = into ?? {
    hour: hourStart(r.time),
    credentialId: r.credentialId,
    tokenId: r.tokenId,
    model: r.model,
    requests: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
  };
  row.requests += 1;
  row.promptTokens += r.promptTokens;
  row.completionTokens += r.completionTokens;
  row.costUsd += r.costUsd;
  return row;
}

function matches(row: HourlyRollup, q: UsageQuery): boolean {
  if (q.from !== undefined && row.hour + HOUR <= q.from) return false;
  if (q.to !== undefined && row.hour >= q.to) return false;
  if (q.credentialId !== undefined && row.credentialId !== q.credentialId) return false;
  if (q.tokenId !== undefined && row.tokenId !== q.tokenId) return false;
  if (q.model !== undefined && row.model !== q.model) return false;
  return true;
}

/** Sums rollups into the rows a query asks for; time buckets sort ascending. */
export function groupRollups(rows: Iterable<HourlyRollup>, q: UsageQuery = {}): UsageRow[] {
  const groupBy = q.groupBy ?? [];
  const out = new Map<string, UsageRow>();
  for (const row of rows) {
    if (!matches(row, q)) continue;
    const result: UsageRow = { requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
    const parts: string[] = [];
    for (const g of groupBy) {
      if (g === "credential") parts.push((result.credentialId = row.credentialId));
      else if (g === "token") parts.push(String((result.tokenId = row.tokenId)));
      else if (g === "model") parts.push((result.model = row.model));
      else parts.push(String((result.bucket = g === "day" ? dayStart(row.hour) : row.hour)));
    }
    const key = parts.join("\u0000");
    const acc = out.get(key) ?? result;
    acc.requests += row.requests;
    acc.promptTokens += row.promptTokens;
    acc.completionTokens += row.completionTokens;
    acc.costUsd += row.costUsd;
    out.set(key, acc);
  }
  return [...out.values()].sort((a, b) => (a.bucket ?? 0) - (b.bucket ?? 0));
}
