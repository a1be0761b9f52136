/**
 * Reading OpenAI's rate-limit headers. Pure: takes a header getter, returns numbers.
 * `x-ratelimit-reset-*` use Go-style durations (`1s`, `6m0s`, `20ms`, `1h2m3.5s`).
 */
export type HeaderGetter = (name: string) => string | null | undefined;

/** Index of the first non-digit of `text` at or after `i`. */
function digitsEnd(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  return i;
}

/** The unit at `text[i]` and its length, or null. */
function unitAt(text: string, i: number): [ms: number, length: number] | null {
  const c = text[i];
  const next = text[i + 1];
  if (c === "h") return [3_600_000, 1];
  if (c === "m") return next === "s" ? [1, 2] : [60_000, 1];
  if (c === "s") return [1000, 1];
  if ((c === "u" || c === "µ") && next === "s") return [0.001, 2];
  if (c === "n" && next === "s") return [0.000001, 2];
  return null;
}

/**
 * Milliseconds in a Go-style duration, or null when it isn't one. Read by hand, not with a
 * regular expression: every upstream answer carries two of these.
 */
export function parseDuration(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  let total = 0;
  let parts = 0;
  let i = 0;
  while (i < text.length) {
    const start = i;
    i = digitsEnd(text, i);
    if (i === start) return null;
    if (text[i] === ".") {
      const fraction = i + 1;
      i = digitsEnd(text, fraction);
      if (i === fraction) return null;
    }
    const n = Number(text.slice(start, i));
    if (i === text.length) return parts === 0 ? n * 1000 : null; // a bare number: seconds
    const unit = unitAt(text, i);
    if (unit === null) return null;
    total += n * unit[0];
    i += unit[1];
    parts++;
  }
  return parts > 0 ? total : null;
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
