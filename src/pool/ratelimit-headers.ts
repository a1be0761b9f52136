/**
 * Reading OpenAI's rate-limit headers. Pure: takes a header getter, returns numbers.
 * `x-ratelimit-reset-*` use Go-style durations (`1s`, `6m0s`, `20ms`, `1h2m3.5s`).
 */
export type HeaderGetter = (name: string) => string | null | undefined;

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, "µs": 0.001, ns: 0.000001 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g;

/** Milliseconds in a Go-style duration, or null when it isn't one. */
export function parseDuration(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (text === "") return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000; // bare number: seconds
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(DURATION_PART)) {
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : null;
}

function num(get: HeaderGetter, name: string): number | null {
  const v = get(name);
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

export interface RateLimitInfo {
  limitRequests: number | null;
  remainingRequests: number | null;
  resetRequestsMs: number | null;
  limitTokens: number | null;
  remainingTokens: number | null;
  resetTokensMs: number | null;
}

/** Null when the answer carries no rate-limit headers at all. */
export function parseRateLimit(get: HeaderGetter): RateLimitInfo | null {
  const info: RateLimitInfo = {
    limitRequests: num(get, "x-ratelimit-limit-requests"),
    remainingRequests: num(get, "x-ratelimit-remaining-requests"),
    resetRequestsMs: parseDuration(get("x-ratelimit-reset-requests")),
    limitTokens: num(get, "x-ratelimit-limit-tokens"),
    remainingTokens: num(get, "x-ratelimit-remaining-tokens"),
    resetTokensMs: parseDuration(get("x-ratelimit-reset-tokens")),
  };
  return info.remainingRequests === null && info.remainingTokens === null ? null : info;
}

/**
 * How long the upstream asked us to wait, in ms: `retry-after-ms`, then
 * `retry-after` (seconds or an HTTP date), then the later of the reset headers.
 */
export function retryAfterMs(get: HeaderGetter, now: number = Date.now()): number | null {
  const ms = num(get, "retry-after-ms");
  if (ms !== null && ms >= 0) return ms;
  const ra = get("retry-after");
  if (ra !== null && ra !== undefined && ra !== "") {
    const secs = Number(ra);
    if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
    const date = Date.parse(ra);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const resets = [parseDuration(get("x-ratelimit-reset-requests")), parseDuration(get("x-ratelimit-reset-tokens"))];
  const known = resets.filter((v): v is number => v !== null);
  return known.length > 0 ? Math.max(...known) : null;
}
