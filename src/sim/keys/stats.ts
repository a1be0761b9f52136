/** Counters of one key or session, as `stats()` and `GET /_sim/keys/:key` show them. */
export interface CredentialStats {
  requests: number;
  /** Answers by status (`"200"`, `"429"`, …), plus `"reset"` and `"hang"` for cut connections. */
  statuses: Record<string, number>;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function emptyStats(): CredentialStats {
  return { requests: 0, statuses: {}, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
}

const STATUS_KEYS: string[] = [];

export function countStatus(stats: CredentialStats, status: number | "reset" | "hang"): void {
  const key = typeof status === "number" ? (STATUS_KEYS[status] ??= String(status)) : status;
  stats.statuses[key] = (stats.statuses[key] ?? 0) + 1;
}

export function copyStats(stats: CredentialStats): CredentialStats {
  return { ...stats, statuses: { ...stats.statuses } };
}
